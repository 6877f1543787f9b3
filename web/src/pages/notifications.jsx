import { api } from '../api.js';
import { useAction, usePaged, useSession, useTitle } from '../hooks.js';
import { refreshUnread, useUnread } from '../unread.js';
import { ErrorMsg, More, PageHead, SignInPrompt, Time } from '../ui.jsx';

function Actor({ a }) {
  if (!a || !a.username) return <span>Someone</span>;
  return <a href={`/users/${a.username}`}>@{a.username}</a>;
}

function Text({ n }) {
  const photo = n.photo_id ? `/photos/${n.photo_id}` : null;
  switch (n.kind) {
    case 'follow':
      return (
        <>
          <Actor a={n.actor} /> started following you.
        </>
      );
    case 'like':
      return (
        <>
          <Actor a={n.actor} /> liked <a href={photo}>your photo</a>.
        </>
      );
    case 'comment':
      return (
        <>
          <Actor a={n.actor} /> commented on <a href={photo + '#comments'}>your photo</a>
          {n.text ? <>: “{n.text}”</> : '.'}
        </>
      );
    case 'photo_ready':
      return (
        <>
          <a href={photo}>Your photo</a> is processed and ready.
        </>
      );
    case 'photo_failed':
      return (
        <>
          <a href={photo}>Your photo</a> could not be processed{n.text ? `: ${n.text}` : '.'}
        </>
      );
    case 'photo_held':
      return (
        <>
          <a href={photo}>Your photo</a> is held for moderation{n.text ? `: ${n.text}` : '.'}
        </>
      );
    case 'moderation':
      return (
        <>
          <a href={photo}>A photo</a> is waiting for moderation{n.text ? `: ${n.text}` : '.'} <a href="/admin?tab=moderation">Open the queue</a>
        </>
      );
    default:
      return <>{n.text || n.kind}</>;
  }
}

export function Notifications() {
  useTitle('Notifications');
  const s = useSession();
  const unread = useUnread();
  const paged = usePaged(async (cursor) => {
    if (!s.user) return { items: [], next: null };
    const q = new URLSearchParams({ limit: '30' });
    if (cursor) q.set('cursor', cursor);
    const r = await api(`/notifications?${q}`);
    return { items: r.notifications || [], next: r.next_cursor };
  }, s.user ? s.user.id : '');
  const act = useAction();
  if (!s.user)
    return (
      <section>
        <PageHead title="Notifications" />
        <SignInPrompt what="see your notifications" />
      </section>
    );
  const markRead = () =>
    act.run(async () => {
      await api('/notifications/read', { method: 'POST' });
      paged.update((items) => items.map((n) => ({ ...n, read: true })));
      await refreshUnread(true);
    });
  return (
    <section>
      <PageHead title="Notifications">
        <p class="muted" role="status">
          {unread === 0 ? 'All read' : `${unread} unread`}
        </p>
        <button type="button" class="secondary" onClick={markRead} disabled={act.busy || unread === 0}>
          Mark all as read
        </button>
      </PageHead>
      <ErrorMsg error={act.error} />
      {paged.items.length > 0 ? (
        <ul class="notes">
          {paged.items.map((n) => (
            <li key={n.id} class={n.read ? 'read' : 'unread-item'}>
              {!n.read && <span class="sr-only">Unread: </span>}
              <span class="note-text">
                <Text n={n} />
              </span>{' '}
              <span class="muted small">
                <Time at={n.created_at} />
              </span>
            </li>
          ))}
        </ul>
      ) : (
        !paged.loading && !paged.error && <p class="empty">No notifications yet.</p>
      )}
      <More paged={paged} />
    </section>
  );
}
