import { useEffect, useRef, useState } from 'preact/hooks';
import { api, photoPath, postForBlob, url } from '../api.js';
import { useApi, useSession, useTitle } from '../hooks.js';
import { setQuery } from '../router.js';
import { ErrorMsg, Img, Loading, PageHead, SignInPrompt, fmtBytes } from '../ui.jsx';

function defaults(op) {
  const v = {};
  for (const p of op.params || []) v[p.name] = p.default ?? (p.type === 'boolean' ? false : p.type === 'enum' ? p.values[0] : p.minimum ?? 0);
  return v;
}

// One form control per parameter: numbers with their range, checkboxes, selects.
export function ParamField({ p, value, onChange, idPrefix }) {
  const id = `${idPrefix}-${p.name}`;
  const hintId = id + '-hint';
  const range =
    p.minimum !== undefined || p.maximum !== undefined ? ` (${p.minimum ?? '−∞'} to ${p.maximum ?? '∞'}${p.odd ? ', odd' : ''})` : '';
  if (p.type === 'boolean') {
    return (
      <div class="field">
        <label class="check" for={id}>
          <input id={id} type="checkbox" checked={!!value} aria-describedby={hintId} onChange={(e) => onChange(e.currentTarget.checked)} /> {p.name.replace(/_/g, ' ')}
        </label>
        <p class="hint" id={hintId}>
          {p.description}
        </p>
      </div>
    );
  }
  if (p.type === 'enum') {
    return (
      <div class="field">
        <label for={id}>{p.name.replace(/_/g, ' ')}</label>
        <select id={id} value={value} aria-describedby={hintId} onChange={(e) => onChange(e.currentTarget.value)}>
          {p.values.map((v) => (
            <option key={v} value={v}>
              {v.replace(/_/g, ' ')}
            </option>
          ))}
        </select>
        <p class="hint" id={hintId}>
          {p.description}
        </p>
      </div>
    );
  }
  const integer = p.type === 'integer';
  return (
    <div class="field">
      <label for={id}>
        {p.name.replace(/_/g, ' ')}
        <span class="muted small">{range}</span>
      </label>
      <input
        id={id}
        type="number"
        inputMode={integer ? 'numeric' : 'decimal'}
        min={p.minimum}
        max={p.maximum}
        step={integer ? (p.odd ? 2 : 1) : 'any'}
        required
        aria-describedby={hintId}
        value={value}
        onInput={(e) => onChange(e.currentTarget.value === '' ? '' : Number(e.currentTarget.value))}
      />
      <p class="hint" id={hintId}>
        {p.description}
      </p>
    </div>
  );
}

function cleanParams(op, values) {
  const out = {};
  for (const p of op.params || []) {
    const v = values[p.name];
    if (v === '' || v === undefined) continue;
    out[p.name] = p.type === 'integer' ? Math.round(Number(v)) : v;
  }
  return out;
}

function BeforeAfter({ before, beforeAuth, after, afterAuth, label }) {
  return (
    <div class="before-after">
      <figure>
        <Img src={before} auth={beforeAuth} alt="Before: the input image" />
        <figcaption>Before</figcaption>
      </figure>
      <figure>
        {after ? <Img src={after} auth={afterAuth} alt={`After: ${label}`} data-testid="result-image" /> : <span class="img-loading" role="img" aria-label="waiting for the result" />}
        <figcaption>After: {label}</figcaption>
      </figure>
    </div>
  );
}

// POST /process with an image from this computer: the result comes back at once.
function RunOnFile({ op, values }) {
  const [file, setFile] = useState(null);
  const [before, setBefore] = useState(null);
  const [result, setResult] = useState(null);
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState(0);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (!file) return setBefore(null);
    const u = URL.createObjectURL(file);
    setBefore(u);
    return () => URL.revokeObjectURL(u);
  }, [file]);
  useEffect(() => () => result && result.url && URL.revokeObjectURL(result.url), [result]);
  const run = async (e) => {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(null);
    setResult(null);
    setProgress(0);
    const t0 = performance.now();
    try {
      const params = cleanParams(op, values);
      const res = await postForBlob(
        '/process',
        () => {
          const f = new FormData();
          f.append('image', file, file.name);
          f.append('operation', op.name);
          f.append('params', JSON.stringify(params));
          return f;
        },
        setProgress,
      );
      const blob = res.blob;
      const type = res.type;
      const ms = Math.round(performance.now() - t0);
      if (type.includes('json')) {
        setResult({ json: JSON.parse(await blob.text()), ms, cache: res.header('X-Cache') });
      } else {
        setResult({ url: URL.createObjectURL(blob), size: blob.size, type, ms, cache: res.header('X-Cache') });
      }
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="stack" onSubmit={run}>
      <div class="field">
        <label for="pg-file">Image from this device</label>
        <input id="pg-file" type="file" accept="image/*" required onChange={(e) => setFile(e.currentTarget.files[0] || null)} />
      </div>
      <button type="submit" disabled={busy || !file}>
        {busy ? 'Running…' : `Run ${op.name.replace(/_/g, ' ')}`}
      </button>
      {busy && (
        <p role="status">
          <label>
            Sending <progress max="1" value={progress} />
          </label>
        </p>
      )}
      <ErrorMsg error={error} />
      {result && (
        <p class="muted small" role="status">
          Done in {result.ms} ms{result.cache ? ` (cache: ${result.cache})` : ''}
          {result.size ? ` · ${fmtBytes(result.size)} ${result.type}` : ''}
        </p>
      )}
      {before && (result || busy) && !(result && result.json) && (
        <BeforeAfter before={before} after={result && result.url} label={op.name.replace(/_/g, ' ')} />
      )}
      {result && result.json && <pre class="json">{JSON.stringify(result.json, null, 2)}</pre>}
    </form>
  );
}

const EVENT_TEXT = {
  queued: () => 'Queued',
  started: (d) => `Started on ${d.worker || 'a worker'} (attempt ${d.attempt}${d.queued_ms != null ? `, waited ${d.queued_ms} ms` : ''})`,
  failed: (d) => `Failed: ${d.error || 'unknown error'}${d.final ? '' : ' (will retry)'}`,
  succeeded: (d) => `Succeeded in ${d.run_ms} ms (${d.total_ms} ms in all)`,
};

// POST /photos/{id}/jobs on a stored photo; the job's life arrives as Server-Sent Events.
function RunOnPhoto({ op, values, photoId, setPhotoId, me }) {
  const mine = useApi(`/users/${encodeURIComponent(me.username)}/photos?limit=50`);
  const [job, setJob] = useState(null);
  const [events, setEvents] = useState([]);
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const es = useRef(null);
  useEffect(() => () => es.current && es.current.close(), []);
  // A photo named in ?photo= that is older than the first page of mine is fetched on its own.
  const listed = ((mine.data && mine.data.photos) || []).filter((p) => p.status === 'ready');
  const extra = useApi(mine.data && photoId && !listed.some((p) => p.id === photoId) ? `/photos/${encodeURIComponent(photoId)}` : null);
  const photos =
    extra.data && extra.data.status === 'ready' && extra.data.owner.id === me.id ? [extra.data, ...listed] : listed;
  const photo = photos.find((p) => p.id === photoId) || photos[0];

  const finish = async (j) => {
    try {
      const full = await api(`/jobs/${j.id}`);
      setJob(full);
      if (full.status === 'succeeded') setResult({ url: full.result_url, data: full.data });
      else if (full.status === 'failed') setError(new Error(`The job failed: ${full.error || 'unknown error'}`));
    } catch (e) {
      setError(e);
    }
    setBusy(false);
  };

  const watch = async (j) => {
    if (es.current) es.current.close();
    // EventSource cannot send the Authorization header, and a token in the URL would end up in
    // proxies' access logs: the stream opens with a single-use ticket instead.
    const t = await api(`/jobs/${j.id}/events/ticket`, { method: 'POST' });
    const src = new EventSource(`${url(t.events_url)}?ticket=${encodeURIComponent(t.ticket)}`);
    es.current = src;
    let done = false;
    const on = (name) =>
      src.addEventListener(name, (ev) => {
        let d = {};
        try {
          d = JSON.parse(ev.data);
        } catch {
          /* keep {} */
        }
        setEvents((xs) => [...xs, { name, text: EVENT_TEXT[name](d), id: ev.lastEventId }]);
        if (name === 'succeeded' || (name === 'failed' && d.final)) {
          done = true;
          src.close();
          finish(j);
        }
      });
    ['queued', 'started', 'failed', 'succeeded'].forEach(on);
    src.onerror = () => {
      // The stream ended or broke: read the job's state instead of reconnecting forever.
      if (done) return;
      if (src.readyState === EventSource.CLOSED || src.readyState === EventSource.CONNECTING) {
        src.close();
        done = true;
        finish(j);
      }
    };
  };

  const run = async (e) => {
    e.preventDefault();
    if (!photo) return;
    setBusy(true);
    setError(null);
    setResult(null);
    setEvents([]);
    setJob(null);
    try {
      const r = await api(`/photos/${photo.id}/jobs`, { method: 'POST', json: { operations: [{ name: op.name, params: cleanParams(op, values) }] } });
      const j = r.jobs[0];
      setJob(j);
      await watch(j);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  if (mine.error) return <ErrorMsg error={mine.error} />;
  if (!mine.data) return <Loading label="Loading your photos…" />;
  if (photos.length === 0)
    return (
      <p class="empty">
        You have no processed photos yet. <a href="/upload">Upload one</a>, or use an image from this device.
      </p>
    );
  const auth = photo && photo.visibility !== 'public';
  return (
    <form class="stack" onSubmit={run}>
      <div class="field">
        <label for="pg-photo">One of your photos</label>
        <select id="pg-photo" value={photo ? photo.id : ''} onChange={(e) => setPhotoId(e.currentTarget.value)}>
          {photos.map((p) => (
            <option key={p.id} value={p.id}>
              {p.caption || p.key || `Photo ${p.id}`} ({p.width}×{p.height})
            </option>
          ))}
        </select>
      </div>
      <button type="submit" disabled={busy || !photo}>
        {busy ? 'Running…' : `Run ${op.name.replace(/_/g, ' ')} as a job`}
      </button>
      <ErrorMsg error={error} />
      {job && (
        <div class="panel">
          <h2 class="h3">Job {job.id}</h2>
          <ol class="events" aria-live="polite" data-testid="job-events">
            {events.map((ev, i) => (
              <li key={i}>{ev.text}</li>
            ))}
          </ol>
        </div>
      )}
      {photo && (job || result) && (
        <BeforeAfter before={photoPath(photo.id, 'display')} beforeAuth={auth} after={result && result.url} afterAuth={true} label={op.name.replace(/_/g, ' ')} />
      )}
      {result && result.url && (
        <p>
          <a href={`/photos/${photo.id}`}>The result is kept as a variant of the photo.</a>
        </p>
      )}
      {result && result.data && <pre class="json">{JSON.stringify(result.data, null, 2)}</pre>}
    </form>
  );
}

export function Playground({ query }) {
  useTitle('Operations playground');
  const s = useSession();
  const ops = useApi('/operations');
  const list = (ops.data && ops.data.operations) || [];
  const [name, setName] = useState(query.get('op') || '');
  const op = list.find((o) => o.name === name) || list[0];
  const [values, setValues] = useState({});
  const [source, setSource] = useState(query.get('photo') ? 'photo' : 'file');
  const [photoId, setPhotoId] = useState(query.get('photo') || '');
  useEffect(() => {
    if (op) setValues(defaults(op));
  }, [op && op.name]);
  if (!s.user)
    return (
      <section>
        <PageHead title="Operations playground" />
        <p>Try PixHive's image operations: edges, corners, blur, spectrum, background removal, text…</p>
        <SignInPrompt what="run operations" />
      </section>
    );
  return (
    <section>
      <PageHead title="Operations playground" />
      <ErrorMsg error={ops.error} />
      {ops.loading && <Loading />}
      {op && (
        <div class="playground">
          <div class="pg-controls">
            <div class="field">
              <label for="pg-op">Operation</label>
              <select
                id="pg-op"
                value={op.name}
                onChange={(e) => {
                  setName(e.currentTarget.value);
                  setQuery({ op: e.currentTarget.value });
                }}
              >
                {list.map((o) => (
                  <option key={o.name} value={o.name}>
                    {o.name.replace(/_/g, ' ')}
                  </option>
                ))}
              </select>
              <p class="hint">
                {op.description}. Output: {op.output}.
              </p>
            </div>
            {op.params && op.params.length > 0 ? (
              <fieldset class="params">
                <legend>Parameters</legend>
                {op.params.map((p) => (
                  <ParamField key={op.name + p.name} p={p} idPrefix="pg" value={values[p.name] ?? ''} onChange={(v) => setValues((x) => ({ ...x, [p.name]: v }))} />
                ))}
                <button type="button" class="secondary" onClick={() => setValues(defaults(op))}>
                  Reset to defaults
                </button>
              </fieldset>
            ) : (
              <p class="muted">This operation has no parameters.</p>
            )}
          </div>
          <div class="pg-run">
            <fieldset class="field">
              <legend>Run on</legend>
              <label class="check">
                <input type="radio" name="pg-source" checked={source === 'file'} onChange={() => setSource('file')} /> an image from this device (answer at once)
              </label>
              <label class="check">
                <input type="radio" name="pg-source" checked={source === 'photo'} onChange={() => setSource('photo')} /> one of my stored photos (a job with live status)
              </label>
            </fieldset>
            {source === 'file' ? (
              <RunOnFile op={op} values={values} />
            ) : (
              <RunOnPhoto op={op} values={values} photoId={photoId} setPhotoId={setPhotoId} me={s.user} />
            )}
          </div>
        </div>
      )}
    </section>
  );
}
