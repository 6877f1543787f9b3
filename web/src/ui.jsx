// Shared pieces: messages, images behind auth, photo cards, like buttons, paging.
import { useEffect, useState } from 'preact/hooks';
import { api, blobUrl, photoPath, token } from './api.js';
import { useOnScreen, useSession } from './hooks.js';
import { Comment, Heart } from './icons.jsx';

export function ErrorMsg({ error, title }) {
  if (!error) return null;
  const message = error.message || String(error);
  return (
    <div class="msg msg-error" role="alert">
      {title && <strong>{title} </strong>}
      {message}
    </div>
  );
}

export function Notice({ children, kind = 'info' }) {
  return (
    <div class={`msg msg-${kind}`} role="status">
      {children}
    </div>
  );
}

export function Loading({ label = 'Loading…' }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" /> {label}
    </p>
  );
}

export function fmtBytes(n) {
  if (n == null) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export function fmtPct(x) {
  return `${(Number(x) * 100).toFixed(x >= 0.995 || x < 0.1 ? 1 : 0)} %`;
}

// seconds (or milliseconds when ms) since the epoch
export function Time({ at, ms = false }) {
  if (!at) return null;
  const d = new Date(ms ? at : at * 1000);
  return <time dateTime={d.toISOString()}>{relTime(d)}</time>;
}

export function relTime(d) {
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 7 * 86400) return `${Math.round(s / 86400)} d ago`;
  return d.toLocaleDateString();
}

// An image that may need the Authorization header (private or held photos, job results).
export function Img({ src, auth = false, alt, ...rest }) {
  const [obj, setObj] = useState(null);
  const [failed, setFailed] = useState(false);
  const useBlob = auth && !!token();
  useEffect(() => {
    setFailed(false);
    if (!useBlob || !src) return;
    const ctl = new AbortController();
    let made = null;
    setObj(null);
    blobUrl(src, ctl.signal).then(
      (u) => {
        made = u;
        setObj(u);
      },
      (e) => e.name !== 'AbortError' && setFailed(true),
    );
    return () => {
      ctl.abort();
      if (made) URL.revokeObjectURL(made);
    };
  }, [src, useBlob]);
  if (failed) return <span class="img-missing" role="img" aria-label={alt}>Image unavailable</span>;
  if (useBlob && !obj) return <span class="img-loading" role="img" aria-label={`${alt} (loading)`} />;
  return <img src={useBlob ? obj : src} alt={alt} onError={() => setFailed(true)} {...rest} />;
}

// A link to a file; files behind auth are fetched and opened as object URLs.
export function FileLink({ href, auth, children, filename }) {
  const [error, setError] = useState(null);
  if (!auth || !token()) {
    return (
      <a href={href} data-external target="_blank" rel="noopener">
        {children}
      </a>
    );
  }
  const open = async () => {
    setError(null);
    try {
      const u = await blobUrl(href);
      const a = document.createElement('a');
      a.href = u;
      a.download = filename || '';
      a.click();
      setTimeout(() => URL.revokeObjectURL(u), 60000);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      <button type="button" class="linkish" onClick={open}>
        {children}
      </button>
      {error && <span class="inline-error" role="alert">{error.message}</span>}
    </>
  );
}

export function needsAuth(p) {
  return p.visibility === 'private' || (p.status && p.status !== 'ready');
}

// Caption with #hashtags linked to their tag pages.
export function Caption({ text }) {
  if (!text) return null;
  const parts = text.split(/(#[\p{L}\p{N}_]+)/u);
  return (
    <p class="caption">
      {parts.map((p, i) =>
        p.startsWith('#') && p.length > 1 ? (
          <a key={i} href={`/tags/${encodeURIComponent(p.slice(1).toLowerCase())}`}>
            {p}
          </a>
        ) : (
          p
        ),
      )}
    </p>
  );
}

export function LikeButton({ photo, onChange, compact }) {
  const s = useSession();
  const [state, setState] = useState({ likes: photo.likes || 0, liked: !!photo.liked_by_me });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => setState({ likes: photo.likes || 0, liked: !!photo.liked_by_me }), [photo.id, photo.likes, photo.liked_by_me]);
  if (!s.user) {
    return (
      <span class="count" title="likes">
        <Heart filled /> {state.likes} <span class="sr-only">likes</span>
      </span>
    );
  }
  const toggle = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await api(`/photos/${photo.id}/like`, { method: state.liked ? 'DELETE' : 'PUT' });
      const next = { likes: r.likes, liked: r.liked_by_me };
      setState(next);
      onChange && onChange({ likes: r.likes, liked_by_me: r.liked_by_me });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="like-wrap">
      <button
        type="button"
        class={'like' + (state.liked ? ' liked' : '') + (compact ? ' compact' : '')}
        aria-pressed={state.liked ? 'true' : 'false'}
        disabled={busy}
        onClick={toggle}
      >
        <Heart filled={state.liked} />
        <span class="sr-only">Like this photo, </span>
        {state.likes}
        <span class="sr-only">{state.likes === 1 ? ' like' : ' likes'}</span>
      </button>
      {error && <span class="inline-error" role="alert">{error.message}</span>}
    </span>
  );
}

// One photo in a grid: a PhotoCard (feeds, search) or a Photo (a user's photos).
export function PhotoCard({ p, onChange, showOwner = true }) {
  const ready = !p.status || p.status === 'ready';
  const thumb = p.thumbnail_url || photoPath(p.id, 'thumbnail');
  const alt = p.caption ? `Photo: ${p.caption}` : `Photo by ${p.owner ? p.owner.username : 'unknown'}`;
  return (
    <li class="card">
      <a class="thumb" href={`/photos/${p.id}`}>
        {ready || p.status === 'held' ? (
          <Img src={thumb} auth={needsAuth(p)} alt={alt} loading="lazy" width="320" height="320" />
        ) : (
          <span class={`status-tile status-${p.status}`}>{p.status}</span>
        )}
        {p.visibility === 'private' && <span class="badge">private</span>}
        {p.status === 'held' && <span class="badge badge-warn">held</span>}
      </a>
      <div class="card-body">
        {showOwner && p.owner && (
          <a class="owner" href={`/users/${p.owner.username}`}>
            {p.owner.display_name || p.owner.username}
          </a>
        )}
        <Caption text={p.caption} />
        <div class="card-actions">
          {ready && <LikeButton photo={p} onChange={onChange} compact />}
          <a class="count" href={`/photos/${p.id}#comments`}>
            <Comment /> {p.comments || 0}
            <span class="sr-only">{p.comments === 1 ? ' comment' : ' comments'}</span>
          </a>
          {p.created_at && (
            <span class="muted small">
              <Time at={p.created_at} />
            </span>
          )}
        </div>
      </div>
    </li>
  );
}

// Loader at the bottom of a paged list: loads the next page on scroll, or by the button.
export function More({ paged, label = 'Load more' }) {
  const ref = useOnScreen(paged.loadMore, !!paged.next && !paged.loading && !paged.error);
  return (
    <div class="more" ref={ref}>
      <ErrorMsg error={paged.error} />
      {paged.loading && <Loading />}
      {paged.next && !paged.loading && (
        <button type="button" class="secondary" onClick={paged.loadMore}>
          {paged.error ? 'Try again' : label}
        </button>
      )}
    </div>
  );
}

export function PhotoGrid({ paged, empty = 'No photos yet.', showOwner = true, label = 'Photos' }) {
  return (
    <>
      {paged.items.length > 0 ? (
        <ul class="grid" aria-label={label}>
          {paged.items.map((p) => (
            <PhotoCard
              key={p.id}
              p={p}
              showOwner={showOwner}
              onChange={(patch) => paged.update((items) => items.map((x) => (x.id === p.id ? { ...x, ...patch } : x)))}
            />
          ))}
        </ul>
      ) : (
        !paged.loading && !paged.error && <p class="empty">{empty}</p>
      )}
      <More paged={paged} />
    </>
  );
}

export function SignInPrompt({ what }) {
  const next = encodeURIComponent(location.pathname + location.search);
  return (
    <div class="panel">
      <p>
        <a href={`/login?next=${next}`}>Sign in</a> {what ? `to ${what}` : 'to continue'}. No account yet?{' '}
        <a href="/signup">Sign up</a>.
      </p>
    </div>
  );
}

export function PageHead({ title, children }) {
  return (
    <div class="page-head">
      <h1 tabIndex={-1} id="page-title">
        {title}
      </h1>
      {children}
    </div>
  );
}
