import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, getSession, subscribe } from './api.js';

export function useSession() {
  const [s, setS] = useState({ ...getSession() });
  useEffect(() => subscribe((next) => setS({ ...next })), []);
  return s;
}

export function useTitle(title) {
  useEffect(() => {
    document.title = title ? `${title} · PixHive` : 'PixHive';
  }, [title]);
}

// Loads a JSON resource; reloads when `path` changes. path null = nothing to load.
export function useApi(path, deps = []) {
  const [state, setState] = useState({ data: null, error: null, loading: !!path });
  const seq = useRef(0);
  const load = useCallback(() => {
    if (!path) {
      setState({ data: null, error: null, loading: false });
      return;
    }
    const n = ++seq.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    api(path).then(
      (data) => n === seq.current && setState({ data, error: null, loading: false }),
      (error) => n === seq.current && setState({ data: null, error, loading: false }),
    );
  }, [path, ...deps]);
  useEffect(() => {
    load();
    return () => {
      seq.current++;
    };
  }, [load]);
  const setData = useCallback((fn) => setState((s) => ({ ...s, data: typeof fn === 'function' ? fn(s.data) : fn })), []);
  return { ...state, reload: load, setData };
}

// Cursor pages: fetchPage(cursor) → {items, next}. Answers items, loadMore, etc.
export function usePaged(fetchPage, key) {
  const [st, setSt] = useState({ items: [], next: null, done: false, loading: true, error: null });
  const seq = useRef(0);
  const busy = useRef(false);
  const cursorRef = useRef(null);
  const run = useCallback(
    (cursor, reset) => {
      const n = reset ? ++seq.current : seq.current;
      busy.current = true;
      setSt((s) => ({ ...(reset ? { items: [], next: null, done: false } : s), loading: true, error: null }));
      fetchPage(cursor).then(
        ({ items, next }) => {
          if (n !== seq.current) return;
          busy.current = false;
          cursorRef.current = next || null;
          setSt((s) => ({ items: reset ? items : [...s.items, ...items], next: next || null, done: !next, loading: false, error: null }));
        },
        (error) => {
          if (n !== seq.current) return;
          busy.current = false;
          setSt((s) => ({ ...s, loading: false, error }));
        },
      );
    },
    [key],
  );
  useEffect(() => {
    run(null, true);
    return () => {
      seq.current++;
    };
  }, [run]);
  const loadMore = useCallback(() => {
    if (busy.current || !cursorRef.current) return;
    run(cursorRef.current, false);
  }, [run]);
  const reload = useCallback(() => run(null, true), [run]);
  const update = useCallback((fn) => setSt((s) => ({ ...s, items: fn(s.items) })), []);
  return { ...st, loadMore, reload, update };
}

// Calls fn while the element is on screen (infinite scroll).
export function useOnScreen(fn, enabled) {
  const ref = useRef(null);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    if (!enabled || !ref.current || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) fnRef.current();
    }, { rootMargin: '600px 0px' });
    io.observe(ref.current);
    return () => io.disconnect();
  }, [enabled]);
  return ref;
}

// Runs an async action with busy/error state for buttons and forms.
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const run = useCallback(async (fn) => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, setError };
}
