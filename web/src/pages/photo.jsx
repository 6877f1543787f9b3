import { useEffect, useState } from 'preact/hooks';
import { api, photoPath } from '../api.js';
import { useAction, useApi, usePaged, useSession, useTitle } from '../hooks.js';
import { navigate } from '../router.js';
import {
  Caption,
  ErrorMsg,
  FileLink,
  Img,
  LikeButton,
  Loading,
  More,
  Notice,
  PageHead,
  Time,
  fmtBytes,
  fmtPct,
  needsAuth,
} from '../ui.jsx';

// Polls GET /photos/{id} about once a second while it is processing.
export function usePhoto(id) {
  const r = useApi(`/photos/${encodeURIComponent(id)}`);
  const status = r.data && r.data.status;
  useEffect(() => {
    if (status !== 'processing') return;
    let stop = false;
    const t = setTimeout(async () => {
      try {
        const p = await api(`/photos/${encodeURIComponent(id)}`);
        if (!stop) r.setData(p);
      } catch {
        if (!stop) r.setData((d) => ({ ...d }));
      }
    }, 1000);
    return () => {
      stop = true;
      clearTimeout(t);
    };
  }, [id, r.data]);
  return r;
}

function StatusNote({ p }) {
  if (p.status === 'processing') return <Loading label="Processing: making thumbnails, tags and text…" />;
  if (p.status === 'failed')
    return (
      <div class="msg msg-error" role="alert">
        Processing failed: {p.status_reason || 'no reason given'}
      </div>
    );
  if (p.status === 'held')
    return (
      <div class="msg msg-warn" role="status">
        Held for moderation: {p.status_reason || 'an admin will review it'}. Only you and the admins can see it.
      </div>
    );
  return null;
}

function Boxes({ p, show }) {
  if (!show) return null;
  const all = [...(p.objects || []).map((o) => ({ ...o, kind: 'object' })), ...(p.faces || []).map((f) => ({ ...f, kind: 'face' }))];
  return all
    .filter((d) => d.box)
    .map((d, i) => (
      <span
        key={i}
        class={`box box-${d.kind}`}
        aria-hidden="true"
        style={{
          left: `${(d.box.x / p.width) * 100}%`,
          top: `${(d.box.y / p.height) * 100}%`,
          width: `${(d.box.width / p.width) * 100}%`,
          height: `${(d.box.height / p.height) * 100}%`,
        }}
      >
        <span class="box-label">
          {d.label} {Math.round(d.confidence * 100)}%
        </span>
      </span>
    ));
}

function Detections({ title, list }) {
  if (!list || list.length === 0) return null;
  return (
    <div>
      <h2>{title}</h2>
      <ul class="detections">
        {list.map((d, i) => (
          <li key={i}>
            <span>{d.label.replace(/_/g, ' ')}</span>
            <meter min="0" max="1" value={d.confidence} aria-label={`${d.label} confidence`} />
            <span class="muted">{fmtPct(d.confidence)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function Likers({ id, likes }) {
  const r = useApi(likes > 0 ? `/photos/${id}/likes?limit=10` : null, [likes]);
  if (!r.data || !r.data.users || r.data.users.length === 0) return null;
  return (
    <p class="muted small">
      Liked by{' '}
      {r.data.users.map((u, i) => (
        <span key={u.id}>
          {i > 0 && ', '}
          <a href={`/users/${u.username}`}>@{u.username}</a>
        </span>
      ))}
      {likes > r.data.users.length && ` and ${likes - r.data.users.length} more`}
    </p>
  );
}

function Comments({ p }) {
  const s = useSession();
  const paged = usePaged(async (cursor) => {
    const q = new URLSearchParams({ limit: '50' });
    if (cursor) q.set('cursor', cursor);
    const r = await api(`/photos/${p.id}/comments?${q}`);
    return { items: r.comments || [], next: r.next_cursor };
  }, p.id);
  const [text, setText] = useState('');
  const act = useAction();
  const del = useAction();
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      const c = await api(`/photos/${p.id}/comments`, { method: 'POST', json: { text } });
      setText('');
      paged.update((items) => [...items, c]);
    });
  };
  const remove = (c) =>
    del.run(async () => {
      await api(`/photos/${p.id}/comments/${c.id}`, { method: 'DELETE' });
      paged.update((items) => items.filter((x) => x.id !== c.id));
    });
  const mayDelete = (c) => s.user && (s.user.id === c.author.id || s.user.id === p.owner.id || s.user.role === 'admin');
  return (
    <section id="comments" class="comments" aria-labelledby="comments-title">
      <h2 id="comments-title">Comments</h2>
      {paged.items.length > 0 ? (
        <ul class="comment-list">
          {paged.items.map((c) => (
            <li key={c.id}>
              <p>
                <a href={`/users/${c.author.username}`}>@{c.author.username}</a>{' '}
                <span class="muted small">
                  <Time at={c.created_at} />
                </span>
              </p>
              <p class="comment-text">{c.text}</p>
              {mayDelete(c) && (
                <button type="button" class="linkish small" onClick={() => remove(c)} disabled={del.busy}>
                  Delete<span class="sr-only"> comment by @{c.author.username}</span>
                </button>
              )}
            </li>
          ))}
        </ul>
      ) : (
        !paged.loading && !paged.error && <p class="empty">No comments yet.</p>
      )}
      <More paged={paged} label="More comments" />
      <ErrorMsg error={del.error} />
      {s.user ? (
        <form class="stack" onSubmit={submit}>
          <div class="field">
            <label for="comment-text">Add a comment</label>
            <textarea id="comment-text" rows={3} maxLength={2200} required value={text} onInput={(e) => setText(e.currentTarget.value)} />
          </div>
          <ErrorMsg error={act.error} />
          <button type="submit" disabled={act.busy || !text.trim()}>
            {act.busy ? 'Posting…' : 'Post comment'}
          </button>
        </form>
      ) : (
        <p>
          <a href={`/login?next=/photos/${p.id}`}>Sign in</a> to comment.
        </p>
      )}
    </section>
  );
}

export function PhotoPage({ params }) {
  const s = useSession();
  const r = usePhoto(params.id);
  const p = r.data;
  const [boxes, setBoxes] = useState(true);
  const [likes, setLikes] = useState(null);
  const del = useAction();
  useTitle(p ? p.caption || 'Photo' : 'Photo');
  if (r.error) {
    return (
      <section>
        <PageHead title="Photo" />
        <ErrorMsg error={r.error} />
      </section>
    );
  }
  if (!p) {
    return (
      <section>
        <PageHead title="Photo" />
        <Loading />
      </section>
    );
  }
  const auth = needsAuth(p);
  const variants = p.variants || [];
  const display = variants.find((v) => v.name === 'display');
  const mine = s.user && s.user.id === p.owner.id;
  const admin = s.user && s.user.role === 'admin';
  const hasBoxes = (p.objects || []).some((o) => o.box) || (p.faces || []).some((f) => f.box);
  const remove = () => {
    if (!confirm('Delete this photo and all its files? This cannot be undone.')) return;
    del.run(async () => {
      await api(`/photos/${p.id}`, { method: 'DELETE' });
      navigate(`/users/${p.owner.username}`, { replace: true });
    });
  };
  const likeCount = likes ? likes.likes : p.likes || 0;
  return (
    <article class="photo-page">
      <PageHead title={p.caption ? p.caption : `Photo by @${p.owner.username}`} />
      <StatusNote p={p} />
      <div class="photo-layout">
        <div class="photo-main">
          {display ? (
            <figure class="photo-figure">
              <div class="photo-frame">
                <Img src={display.url} auth={auth} alt={p.caption || `Photo by @${p.owner.username}`} width={display.width} height={display.height} />
                <Boxes p={p} show={boxes && hasBoxes} />
              </div>
              {hasBoxes && (
                <figcaption>
                  <label class="check">
                    <input type="checkbox" checked={boxes} onChange={(e) => setBoxes(e.currentTarget.checked)} /> Show detected
                    objects and faces
                  </label>
                </figcaption>
              )}
            </figure>
          ) : (
            p.status !== 'processing' && <p class="empty">No display image.</p>
          )}
          <div class="photo-actions">
            {p.status === 'ready' && (
              <LikeButton photo={{ ...p, ...likes }} onChange={setLikes} />
            )}
            <FileLink href={p.original_url} auth={auth} filename={`pixhive-${p.id}`}>
              Original ({p.width}×{p.height}, {fmtBytes(p.size)})
            </FileLink>
            {mine && p.status === 'ready' && (
              <a class="button secondary" href={`/playground?photo=${p.id}`}>
                Run an operation
              </a>
            )}
            {(mine || admin) && (
              <button type="button" class="danger" onClick={remove} disabled={del.busy}>
                Delete photo
              </button>
            )}
          </div>
          <ErrorMsg error={del.error} />
          <Likers id={p.id} likes={likeCount} />
        </div>
        <aside class="photo-side" aria-label="Photo details">
          <p>
            By <a href={`/users/${p.owner.username}`}>@{p.owner.username}</a> · <Time at={p.created_at} />
          </p>
          <Caption text={p.caption} />
          <dl class="facts">
            <dt>Visibility</dt>
            <dd>{p.visibility}</dd>
            <dt>Status</dt>
            <dd data-testid="photo-status">{p.status}</dd>
            {p.key && (
              <>
                <dt>Key</dt>
                <dd>{p.key}</dd>
              </>
            )}
            <dt>Size</dt>
            <dd>
              {p.width}×{p.height} · {fmtBytes(p.size)} · {p.content_type}
            </dd>
            {p.duplicate_of && (
              <>
                <dt>Duplicate of</dt>
                <dd>
                  <a href={`/photos/${p.duplicate_of}`}>an earlier photo</a>
                </dd>
              </>
            )}
          </dl>
          {(p.hashtags || []).length + (p.tags || []).length > 0 && (
            <div>
              <h2>Tags</h2>
              <ul class="chips">
                {(p.hashtags || []).map((t) => (
                  <li key={'h' + t}>
                    <a class="chip" href={`/tags/${encodeURIComponent(t)}`}>
                      #{t}
                    </a>
                  </li>
                ))}
                {(p.tags || []).map((t) => (
                  <li key={'t' + t}>
                    <a class="chip chip-auto" href={`/tags/${encodeURIComponent(t)}`}>
                      {t.replace(/_/g, ' ')}
                    </a>
                  </li>
                ))}
              </ul>
            </div>
          )}
          <Detections title="Objects" list={p.objects} />
          <Detections title="Faces" list={p.faces} />
          {p.text && (
            <div>
              <h2>Text found in the photo</h2>
              <blockquote class="ocr">{p.text}</blockquote>
            </div>
          )}
          {variants.length > 0 && (
            <div>
              <h2>Variants</h2>
              <ul class="variants">
                {variants.map((v) => (
                  <li key={v.name}>
                    <FileLink href={v.url} auth={auth} filename={`${p.id}-${v.name}`}>
                      {v.name}
                    </FileLink>{' '}
                    <span class="muted small">
                      {v.width}×{v.height} · {fmtBytes(v.size)} · {v.content_type}
                    </span>
                  </li>
                ))}
              </ul>
            </div>
          )}
          {p.status === 'ready' && !display && <Notice>No display variant yet.</Notice>}
          {p.hash && <p class="muted small">Perceptual hash {p.hash}</p>}
        </aside>
        <Comments p={p} />
      </div>
    </article>
  );
}

export { photoPath };
