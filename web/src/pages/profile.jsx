import { useState } from 'preact/hooks';
import { api, updateUser } from '../api.js';
import { useAction, useApi, usePaged, useSession, useTitle } from '../hooks.js';
import { ErrorMsg, Loading, More, PageHead, PhotoGrid, Time } from '../ui.jsx';

function FollowButton({ profile, onChange }) {
  const act = useAction();
  const following = !!profile.followed_by_me;
  const toggle = () =>
    act.run(async () => {
      const r = await api(`/users/${encodeURIComponent(profile.username)}/follow`, { method: following ? 'DELETE' : 'PUT' });
      onChange({ followed_by_me: r.following, followers: r.followers, following: r.following_count });
    });
  return (
    <>
      <button type="button" class={following ? 'secondary' : ''} aria-pressed={following ? 'true' : 'false'} onClick={toggle} disabled={act.busy}>
        {following ? 'Following' : 'Follow'}
        <span class="sr-only"> @{profile.username}</span>
      </button>
      <ErrorMsg error={act.error} />
    </>
  );
}

function EditProfile({ user, onDone }) {
  const [form, setForm] = useState({ display_name: user.display_name || '', bio: user.bio || '' });
  const act = useAction();
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      const u = await api('/users/me', { method: 'PATCH', json: form });
      updateUser(u);
      onDone(u);
    });
  };
  return (
    <form class="stack panel" onSubmit={submit}>
      <div class="field">
        <label for="pf-name">Display name</label>
        <input id="pf-name" maxLength={64} value={form.display_name} onInput={(e) => setForm({ ...form, display_name: e.currentTarget.value })} />
      </div>
      <div class="field">
        <label for="pf-bio">Bio</label>
        <textarea id="pf-bio" rows={3} maxLength={500} value={form.bio} onInput={(e) => setForm({ ...form, bio: e.currentTarget.value })} />
      </div>
      <ErrorMsg error={act.error} />
      <div class="row">
        <button type="submit" disabled={act.busy}>
          Save profile
        </button>
        <button type="button" class="secondary" onClick={() => onDone(null)}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function People({ username, kind }) {
  const paged = usePaged(async (cursor) => {
    const q = new URLSearchParams({ limit: '50' });
    if (cursor) q.set('cursor', cursor);
    const r = await api(`/users/${encodeURIComponent(username)}/${kind}?${q}`);
    return { items: r.users || [], next: r.next_cursor };
  }, username + kind);
  return (
    <>
      {paged.items.length > 0 ? (
        <ul class="people" aria-label={kind === 'followers' ? 'Followers' : 'Following'}>
          {paged.items.map((u) => (
            <li key={u.id}>
              <a href={`/users/${u.username}`}>@{u.username}</a>{' '}
              <span class="muted small">
                since <Time at={u.since} />
              </span>
            </li>
          ))}
        </ul>
      ) : (
        !paged.loading && !paged.error && <p class="empty">{kind === 'followers' ? 'No followers yet.' : 'Not following anyone yet.'}</p>
      )}
      <More paged={paged} />
    </>
  );
}

function UserPhotos({ username }) {
  const paged = usePaged(async (cursor) => {
    const q = new URLSearchParams({ limit: '24' });
    if (cursor) q.set('cursor', cursor);
    const r = await api(`/users/${encodeURIComponent(username)}/photos?${q}`);
    return { items: r.photos || [], next: r.next_cursor };
  }, username);
  return <PhotoGrid paged={paged} showOwner={false} label={`Photos by @${username}`} empty="No photos yet." />;
}

export function Profile({ params }) {
  const s = useSession();
  const username = params.username;
  const tab = params.tab || 'photos';
  const r = useApi(`/users/${encodeURIComponent(username)}`);
  const [editing, setEditing] = useState(false);
  useTitle(`@${username}`);
  const p = r.data;
  if (r.error)
    return (
      <section>
        <PageHead title={`@${username}`} />
        <ErrorMsg error={r.error} />
      </section>
    );
  if (!p)
    return (
      <section>
        <PageHead title={`@${username}`} />
        <Loading />
      </section>
    );
  const me = s.user && s.user.username === p.username;
  const tabs = [
    ['photos', `Photos`, p.photos, `/users/${p.username}`],
    ['followers', 'Followers', p.followers, `/users/${p.username}/followers`],
    ['following', 'Following', p.following, `/users/${p.username}/following`],
  ];
  return (
    <section class="profile">
      <div class="profile-head">
        <div class="avatar" aria-hidden="true">
          {(p.display_name || p.username).slice(0, 1).toUpperCase()}
        </div>
        <div class="profile-id">
          <PageHead title={p.display_name || `@${p.username}`} />
          {p.display_name && <p class="muted">@{p.username}</p>}
          {p.bio && <p class="bio">{p.bio}</p>}
          <p class="muted small">
            Joined <Time at={p.created_at} />
          </p>
        </div>
        <div class="profile-actions">
          {s.user && !me && <FollowButton profile={p} onChange={(patch) => r.setData((d) => ({ ...d, ...patch }))} />}
          {me && !editing && (
            <button type="button" class="secondary" onClick={() => setEditing(true)}>
              Edit profile
            </button>
          )}
          {me && (
            <a class="button secondary" href="/settings/security">
              Account security
            </a>
          )}
          {!s.user && (
            <a class="button" href={`/login?next=/users/${p.username}`}>
              Sign in to follow
            </a>
          )}
        </div>
      </div>
      {me && editing && (
        <EditProfile
          user={s.user}
          onDone={(u) => {
            setEditing(false);
            if (u) r.setData((d) => ({ ...d, display_name: u.display_name, bio: u.bio }));
          }}
        />
      )}
      <nav class="tabs" aria-label="Profile sections">
        {tabs.map(([k, label, n, href]) => (
          <a key={k} href={href} aria-current={tab === k ? 'page' : undefined}>
            <strong data-testid={`count-${k}`}>{n ?? 0}</strong> {label}
          </a>
        ))}
      </nav>
      {tab === 'followers' || tab === 'following' ? <People username={p.username} kind={tab} /> : <UserPhotos username={p.username} />}
    </section>
  );
}
