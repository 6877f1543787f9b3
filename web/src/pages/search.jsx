import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useApi, usePaged, useTitle } from '../hooks.js';
import { navigate } from '../router.js';
import { ErrorMsg, More, PageHead, PhotoGrid } from '../ui.jsx';

const TYPES = [
  ['photos', 'Photos'],
  ['users', 'People'],
  ['tags', 'Tags'],
];

function Results({ type, q }) {
  const paged = usePaged(async (cursor) => {
    const p = new URLSearchParams({ type, q, limit: '24' });
    if (cursor) p.set('cursor', cursor);
    const r = await api(`/search?${p}`);
    return { items: r.items || [], next: r.next_cursor };
  }, type + '\n' + q);
  if (type === 'photos') return <PhotoGrid paged={paged} label="Matching photos" empty={`No photos match “${q}”.`} />;
  const empty = !paged.loading && !paged.error && paged.items.length === 0;
  return (
    <>
      {type === 'users' ? (
        <ul class="people" aria-label="Matching people">
          {paged.items.map((u) => (
            <li key={u.id}>
              <a href={`/users/${u.username}`}>@{u.username}</a> {u.display_name && <span class="muted">{u.display_name}</span>}
            </li>
          ))}
        </ul>
      ) : (
        <ul class="chips" aria-label="Matching tags">
          {paged.items.map((t) => (
            <li key={t.tag}>
              <a class="chip" href={`/tags/${encodeURIComponent(t.tag)}`}>
                #{t.tag} <span class="muted">{t.photos}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
      {empty && <p class="empty">Nothing matches “{q}”.</p>}
      <More paged={paged} />
    </>
  );
}

export function Search({ query }) {
  const type = TYPES.some(([t]) => t === query.get('type')) ? query.get('type') : 'photos';
  const q = query.get('q') || '';
  const [text, setText] = useState(q);
  const [kind, setKind] = useState(type);
  useEffect(() => {
    setText(q);
    setKind(type);
  }, [q, type]);
  useTitle(q ? `Search: ${q}` : 'Search');
  const submit = (e) => {
    e.preventDefault();
    const p = new URLSearchParams({ type: kind, q: text.trim() });
    navigate(`/search?${p}`);
  };
  return (
    <section>
      <PageHead title="Search" />
      <form class="search-form" role="search" onSubmit={submit}>
        <div class="field grow">
          <label for="search-q">Search for</label>
          <input id="search-q" type="search" required maxLength={200} value={text} placeholder="#sunset, a name, a word…" onInput={(e) => setText(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="search-type">In</label>
          <select id="search-type" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            {TYPES.map(([t, label]) => (
              <option key={t} value={t}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <button type="submit">Search</button>
      </form>
      {q ? (
        <>
          <h2 class="sr-only">Results</h2>
          <Results key={type + q} type={type} q={q} />
        </>
      ) : (
        <p class="muted">Find photos by caption, #hashtag, automatic tag or text in the picture; people by name (typos are fine); tags by their start.</p>
      )}
    </section>
  );
}

export function TagPage({ params }) {
  const tag = params.tag;
  useTitle(`#${tag}`);
  const head = useApi(`/tags/${encodeURIComponent(tag)}?limit=1`);
  const paged = usePaged(async (cursor) => {
    const p = new URLSearchParams({ limit: '24' });
    if (cursor) p.set('cursor', cursor);
    const r = await api(`/tags/${encodeURIComponent(tag)}?${p}`);
    return { items: r.items || [], next: r.next_cursor };
  }, tag);
  const d = head.data;
  return (
    <section>
      <PageHead title={`#${tag}`}>{d && <p class="muted">{d.photos_total} {d.photos_total === 1 ? 'photo' : 'photos'}</p>}</PageHead>
      <ErrorMsg error={head.error} />
      {d && d.top_uploaders && d.top_uploaders.length > 0 && (
        <div class="panel">
          <h2>Top uploaders</h2>
          <ol class="people">
            {d.top_uploaders.map((u) => (
              <li key={u.id}>
                <a href={`/users/${u.username}`}>@{u.username}</a> <span class="muted">{u.photos} {u.photos === 1 ? 'photo' : 'photos'}</span>
              </li>
            ))}
          </ol>
        </div>
      )}
      <h2 class="sr-only">Photos</h2>
      <PhotoGrid paged={paged} label={`Photos tagged ${tag}`} empty="No photos with this tag yet." />
    </section>
  );
}
