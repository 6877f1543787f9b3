import { useEffect, useState } from 'preact/hooks';
import { api, photoPath } from '../api.js';
import { useAction, useApi, usePaged, useSession, useTitle } from '../hooks.js';
import { setQuery } from '../router.js';
import { ErrorMsg, Img, Loading, More, Notice, PageHead, SignInPrompt, Time, fmtBytes, fmtPct } from '../ui.jsx';

const TABS = [
  ['users', 'Users'],
  ['moderation', 'Moderation'],
  ['cache', 'Cache'],
  ['stats', 'Statistics'],
];

function UserRow({ u, me, onChange }) {
  const act = useAction();
  const toggle = () =>
    act.run(async () => {
      const r = await api(`/admin/users/${u.id}/${u.disabled ? 'enable' : 'disable'}`, { method: 'POST' });
      onChange(r);
    });
  return (
    <tr>
      <td>
        <a href={`/users/${u.username}`}>@{u.username}</a>
        {u.display_name && <div class="muted small">{u.display_name}</div>}
      </td>
      <td class="wrap">{u.email}</td>
      <td>{u.role}</td>
      <td>{u.verified ? 'yes' : 'no'}</td>
      <td data-testid={`state-${u.username}`}>{u.disabled ? 'disabled' : 'active'}</td>
      <td>
        <Time at={u.created_at} />
      </td>
      <td>
        {u.id !== me.id && (
          <button type="button" class={u.disabled ? 'secondary' : 'danger'} disabled={act.busy} onClick={toggle}>
            {u.disabled ? 'Enable' : 'Disable'}
            <span class="sr-only"> @{u.username}</span>
          </button>
        )}
        {act.error && <span class="inline-error" role="alert">{act.error.message}</span>}
      </td>
    </tr>
  );
}

function Users({ me }) {
  const paged = usePaged(async (cursor) => {
    const q = new URLSearchParams({ limit: '50' });
    if (cursor) q.set('cursor', cursor);
    const r = await api(`/admin/users?${q}`);
    return { items: r.users || [], next: r.next_cursor };
  }, 'users');
  return (
    <>
      <div class="table-wrap">
        <table>
          <caption class="sr-only">Users</caption>
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Verified</th>
              <th scope="col">State</th>
              <th scope="col">Joined</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {paged.items.map((u) => (
              <UserRow key={u.id} u={u} me={me} onChange={(n) => paged.update((xs) => xs.map((x) => (x.id === n.id ? n : x)))} />
            ))}
          </tbody>
        </table>
      </div>
      <More paged={paged} />
    </>
  );
}

function ModItem({ it, onChange }) {
  const act = useAction();
  const decide = (what) => {
    if (what === 'reject' && !confirm('Reject this photo? It will be deleted with all its files.')) return;
    act.run(async () => onChange(await api(`/admin/moderation/${it.photo_id}/${what}`, { method: 'POST' })));
  };
  const scores = Object.entries(it.scores || {}).sort((a, b) => b[1] - a[1]);
  return (
    <li class="mod-item">
      {it.state !== 'rejected' ? (
        <a class="thumb" href={`/photos/${it.photo_id}`}>
          <Img src={photoPath(it.photo_id, 'thumbnail')} auth alt={`Flagged photo by @${it.owner.username}`} width="160" height="160" />
        </a>
      ) : (
        <span class="thumb">
          <span class="status-tile">deleted</span>
        </span>
      )}
      <div>
        <p>
          <strong>{it.verdict === 'held' ? 'Held' : 'For review'}</strong> · by <a href={`/users/${it.owner.username}`}>@{it.owner.username}</a> · <Time at={it.created_at} />
        </p>
        <ul class="scores" aria-label="Classifier scores">
          {scores.map(([k, v]) => (
            <li key={k}>
              <span>{k}</span> <meter min="0" max="1" value={v} aria-label={`${k} score`} /> <span class="muted">{fmtPct(v)}</span>
            </li>
          ))}
        </ul>
        <p>
          State: <strong>{it.state}</strong>
          {it.decided_by && (
            <>
              {' '}
              by @{it.decided_by.username} <Time at={it.decided_at} />
            </>
          )}
        </p>
        {it.state === 'pending' && (
          <div class="row">
            <button type="button" disabled={act.busy} onClick={() => decide('approve')}>
              Approve<span class="sr-only"> photo by @{it.owner.username}</span>
            </button>
            <button type="button" class="danger" disabled={act.busy} onClick={() => decide('reject')}>
              Reject<span class="sr-only"> photo by @{it.owner.username}</span>
            </button>
          </div>
        )}
        <ErrorMsg error={act.error} />
      </div>
    </li>
  );
}

function Moderation({ state }) {
  const [pending, setPending] = useState(null);
  const paged = usePaged(async (cursor) => {
    const q = new URLSearchParams({ state, limit: '20' });
    if (cursor) q.set('cursor', cursor);
    const r = await api(`/admin/moderation?${q}`);
    setPending(r.pending);
    return { items: r.items || [], next: r.next_cursor };
  }, state);
  return (
    <>
      <div class="row">
        <div class="field">
          <label for="mod-state">Show</label>
          <select id="mod-state" value={state} onChange={(e) => setQuery({ state: e.currentTarget.value })}>
            <option value="pending">pending</option>
            <option value="approved">approved</option>
            <option value="rejected">rejected</option>
            <option value="all">all</option>
          </select>
        </div>
        {pending != null && (
          <p class="muted" role="status">
            {pending} pending
          </p>
        )}
      </div>
      {paged.items.length > 0 ? (
        <ul class="mod-list">
          {paged.items.map((it) => (
            <ModItem key={it.photo_id} it={it} onChange={(n) => paged.update((xs) => xs.map((x) => (x.photo_id === n.photo_id ? n : x)))} />
          ))}
        </ul>
      ) : (
        !paged.loading && !paged.error && <p class="empty">The queue is empty.</p>
      )}
      <More paged={paged} />
    </>
  );
}

function Stat({ label, value }) {
  return (
    <div class="stat">
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

function Cache() {
  const r = useApi('/admin/cache');
  const [form, setForm] = useState(null);
  const act = useAction();
  const [saved, setSaved] = useState('');
  useEffect(() => {
    if (r.data && !form) setForm({ capacity_mb: r.data.capacity_mb, policy: r.data.policy });
  }, [r.data]);
  const c = r.data;
  const save = (e) => {
    e.preventDefault();
    act.run(async () => {
      const n = await api('/admin/cache', { method: 'PUT', json: { capacity_mb: Number(form.capacity_mb), policy: form.policy } });
      r.setData(n);
      setSaved('Cache settings saved.');
    });
  };
  const clear = () =>
    act.run(async () => {
      r.setData(await api('/admin/cache', { method: 'DELETE' }));
      setSaved('Cache emptied.');
    });
  if (r.error) return <ErrorMsg error={r.error} />;
  if (!c || !form) return <Loading />;
  return (
    <div class="two-col">
      <div>
        <h2>Hot-blob cache</h2>
        <dl class="stats">
          <Stat label="Items" value={c.items} />
          <Stat label="Bytes" value={fmtBytes(c.bytes)} />
          <Stat label="Capacity" value={`${c.capacity_mb} MB`} />
          <Stat label="Policy" value={c.policy} />
          <Stat label="Hits" value={c.hits} />
          <Stat label="Misses" value={c.misses} />
          <Stat label="Hit rate" value={fmtPct(c.hit_rate || 0)} />
          <Stat label="Evictions" value={c.evictions} />
        </dl>
        <button type="button" class="secondary" onClick={r.reload}>
          Refresh figures
        </button>
      </div>
      <form class="stack panel" onSubmit={save}>
        <h2>Configuration</h2>
        <div class="field">
          <label for="cache-cap">Capacity (MB)</label>
          <input id="cache-cap" type="number" min="0" step="1" required value={form.capacity_mb} onInput={(e) => setForm({ ...form, capacity_mb: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for="cache-policy">Replacement policy</label>
          <select id="cache-policy" value={form.policy} onChange={(e) => setForm({ ...form, policy: e.currentTarget.value })}>
            <option value="lru">LRU (least recently used)</option>
            <option value="random">random</option>
          </select>
        </div>
        <ErrorMsg error={act.error} />
        {saved && !act.error && <Notice kind="ok">{saved}</Notice>}
        <div class="row">
          <button type="submit" disabled={act.busy}>
            Save
          </button>
          <button type="button" class="danger" disabled={act.busy} onClick={clear}>
            Empty the cache
          </button>
        </div>
      </form>
    </div>
  );
}

function Stats() {
  const r = useApi('/admin/stats');
  if (r.error) return <ErrorMsg error={r.error} />;
  if (!r.data) return <Loading />;
  const d = r.data;
  return (
    <>
      <dl class="stats">
        <Stat label="Photos" value={d.photos} />
        <Stat label="Stored" value={fmtBytes(d.bytes_stored)} />
        <Stat label="Uploads, last hour" value={d.uploads_last_hour} />
        <Stat label="Uploads, last day" value={d.uploads_last_day} />
        {Object.entries(d.by_status || {}).map(([k, v]) => (
          <Stat key={k} label={`Status: ${k}`} value={v} />
        ))}
      </dl>
      <button type="button" class="secondary" onClick={r.reload}>
        Refresh
      </button>
    </>
  );
}

export function Admin({ query }) {
  useTitle('Admin');
  const s = useSession();
  const tab = TABS.some(([k]) => k === query.get('tab')) ? query.get('tab') : 'users';
  if (!s.user)
    return (
      <section>
        <PageHead title="Admin" />
        <SignInPrompt what="administer PixHive" />
      </section>
    );
  if (s.user.role !== 'admin')
    return (
      <section>
        <PageHead title="Admin" />
        <div class="msg msg-error" role="alert">
          This area is for administrators.
        </div>
      </section>
    );
  const state = ['pending', 'approved', 'rejected', 'all'].includes(query.get('state')) ? query.get('state') : 'pending';
  return (
    <section>
      <PageHead title="Admin" />
      <nav class="tabs" aria-label="Admin sections">
        {TABS.map(([k, label]) => (
          <a key={k} href={`/admin?tab=${k}`} aria-current={tab === k ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      {tab === 'users' && <Users me={s.user} />}
      {tab === 'moderation' && <Moderation state={state} />}
      {tab === 'cache' && <Cache />}
      {tab === 'stats' && <Stats />}
    </section>
  );
}
