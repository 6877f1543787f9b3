import { useEffect, useRef, useState } from 'preact/hooks';
import { api, photoPath, upload } from '../api.js';
import { useSession, useTitle } from '../hooks.js';
import { ErrorMsg, Img, PageHead, SignInPrompt, fmtBytes } from '../ui.jsx';

let nextLocalId = 1;

function UploadRow({ it }) {
  const p = it.photo;
  const status = it.error ? 'error' : it.phase === 'uploading' ? 'uploading' : p ? p.status : 'waiting';
  return (
    <li class={`upload-row up-${status}`} data-testid="upload-row">
      <div class="upload-thumb">
        {p && p.status === 'ready' ? (
          <a href={`/photos/${p.id}`}>
            <Img src={photoPath(p.id, 'thumbnail')} auth={p.visibility !== 'public'} alt={`Thumbnail of ${it.file.name}`} data-testid="upload-thumbnail" />
          </a>
        ) : (
          <span class="status-tile" aria-hidden="true">
            {status === 'uploading' ? `${Math.round(it.progress * 100)}%` : '…'}
          </span>
        )}
      </div>
      <div class="upload-info">
        <p class="upload-name">
          {it.file.name} <span class="muted small">{fmtBytes(it.file.size)}</span>
        </p>
        {status === 'waiting' && <p class="muted">Waiting…</p>}
        {status === 'uploading' && (
          <p>
            <label>
              Uploading <progress max="1" value={it.progress} /> <span>{Math.round(it.progress * 100)} %</span>
            </label>
          </p>
        )}
        {status === 'processing' && (
          <p role="status">
            <span class="spinner" aria-hidden="true" /> Uploaded. Processing: thumbnails, tags, text…
          </p>
        )}
        {status === 'ready' && (
          <p role="status">
            Ready. <a href={`/photos/${p.id}`}>Open the photo</a>
            {p.tags && p.tags.length > 0 && <span class="muted"> · tags: {p.tags.join(', ')}</span>}
          </p>
        )}
        {status === 'failed' && (
          <p class="msg msg-error" role="alert">
            Processing failed: {p.status_reason || 'no reason given'}
          </p>
        )}
        {status === 'held' && (
          <p class="msg msg-warn" role="status">
            Held for moderation: {p.status_reason || 'an admin will review it'}. <a href={`/photos/${p.id}`}>Open the photo</a>
          </p>
        )}
        {it.error && <ErrorMsg error={it.error} title="Refused:" />}
        {p && p.duplicate_of && (
          <p class="muted small">
            Looks like a duplicate of <a href={`/photos/${p.duplicate_of}`}>an earlier photo</a>.
          </p>
        )}
      </div>
    </li>
  );
}

export function Upload() {
  useTitle('Upload');
  const s = useSession();
  const [files, setFiles] = useState([]);
  const [caption, setCaption] = useState('');
  const [visibility, setVisibility] = useState('public');
  const [key, setKey] = useState('');
  const [items, setItems] = useState([]);
  const [drag, setDrag] = useState(false);
  const alive = useRef(true);
  const inputRef = useRef(null);
  useEffect(() => () => (alive.current = false), []);

  if (!s.user)
    return (
      <section>
        <PageHead title="Upload photos" />
        <SignInPrompt what="upload photos" />
      </section>
    );

  const patch = (id, p) => alive.current && setItems((xs) => xs.map((x) => (x.id === id ? { ...x, ...p } : x)));

  const runOne = async (it, fields) => {
    patch(it.id, { phase: 'uploading' });
    let photo;
    try {
      photo = await upload(
        '/photos',
        () => {
          const f = new FormData();
          f.append('file', it.file, it.file.name);
          if (fields.caption) f.append('caption', fields.caption);
          if (fields.key) f.append('key', fields.key);
          f.append('visibility', fields.visibility);
          return f;
        },
        (progress) => patch(it.id, { progress }),
      );
    } catch (error) {
      patch(it.id, { phase: 'done', error });
      return;
    }
    patch(it.id, { phase: 'processing', progress: 1, photo });
    // Watch processing about once a second until the photo is ready, failed or held.
    while (alive.current && photo.status === 'processing') {
      await new Promise((r) => setTimeout(r, 1000));
      try {
        photo = await api(`/photos/${photo.id}`);
        patch(it.id, { photo });
      } catch (error) {
        if (error.status === 404) {
          patch(it.id, { error });
          return;
        }
      }
    }
    patch(it.id, { phase: 'done' });
  };

  const submit = async (e) => {
    e.preventDefault();
    if (files.length === 0) return;
    const batch = files.map((file) => ({ id: nextLocalId++, file, progress: 0, phase: 'waiting', photo: null, error: null }));
    setItems((xs) => [...batch, ...xs]);
    setFiles([]);
    if (inputRef.current) inputRef.current.value = '';
    const fields = { caption: caption.trim(), visibility, key: key.trim() };
    for (let i = 0; i < batch.length; i++) {
      const k = fields.key && batch.length > 1 ? `${fields.key}-${i + 1}` : fields.key;
      await runOne(batch[i], { ...fields, key: k });
    }
  };

  const pick = (list) => setFiles([...list].filter((f) => f.size > 0));
  const onDrop = (e) => {
    e.preventDefault();
    setDrag(false);
    if (e.dataTransfer && e.dataTransfer.files) pick(e.dataTransfer.files);
  };

  return (
    <section>
      <PageHead title="Upload photos" />
      <form class="stack upload-form" onSubmit={submit}>
        <div
          class={'dropzone' + (drag ? ' drag' : '')}
          onDragOver={(e) => {
            e.preventDefault();
            setDrag(true);
          }}
          onDragLeave={() => setDrag(false)}
          onDrop={onDrop}
        >
          <label for="upload-files">Choose photos, or drop them here</label>
          <input ref={inputRef} id="upload-files" type="file" accept="image/*" multiple aria-describedby="upload-files-hint" onChange={(e) => pick(e.currentTarget.files)} />
          <p class="hint" id="upload-files-hint">
            JPEG, PNG, WebP, GIF, BMP or TIFF, up to 25 MB each.
          </p>
          {files.length > 0 && (
            <p role="status">
              {files.length === 1 ? files[0].name : `${files.length} photos`} selected ({fmtBytes(files.reduce((n, f) => n + f.size, 0))})
            </p>
          )}
        </div>
        <div class="field">
          <label for="upload-caption">Caption</label>
          <textarea id="upload-caption" rows={2} maxLength={2200} aria-describedby="upload-caption-hint" value={caption} onInput={(e) => setCaption(e.currentTarget.value)} />
          <p class="hint" id="upload-caption-hint">
            Words starting with # become hashtags, like #sunset.
          </p>
        </div>
        <fieldset class="field">
          <legend>Visibility</legend>
          <label class="check">
            <input type="radio" name="visibility" value="public" checked={visibility === 'public'} onChange={() => setVisibility('public')} /> Public: in feeds and search
          </label>
          <label class="check">
            <input type="radio" name="visibility" value="private" checked={visibility === 'private'} onChange={() => setVisibility('private')} /> Private: only you
          </label>
        </fieldset>
        <div class="field">
          <label for="upload-key">Key (optional)</label>
          <input id="upload-key" pattern="[A-Za-z0-9._\-]{1,128}" maxLength={128} aria-describedby="upload-key-hint" value={key} onInput={(e) => setKey(e.currentTarget.value)} />
          <p class="hint" id="upload-key-hint">
            Your own name for the photo (letters, digits, . _ -), unique among your photos; several files get -1, -2… appended.
          </p>
        </div>
        <button type="submit" disabled={files.length === 0}>
          {files.length > 1 ? `Upload ${files.length} photos` : 'Upload'}
        </button>
      </form>
      {items.length > 0 && (
        <>
          <h2>Uploads</h2>
          <ul class="uploads" aria-live="polite">
            {items.map((it) => (
              <UploadRow key={it.id} it={it} />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
