// A small history-API router: same-origin links are intercepted at the document, pages match
// path patterns like '/photos/:id'.
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set();

function notify() {
  for (const fn of [...listeners]) fn();
}

export function navigate(to, { replace = false } = {}) {
  const current = location.pathname + location.search;
  if (to === current && !replace) return;
  history[replace ? 'replaceState' : 'pushState'](null, '', to);
  notify();
}

export function useLocation() {
  const [, setTick] = useState(0);
  useEffect(() => {
    const fn = () => setTick((n) => n + 1);
    listeners.add(fn);
    return () => listeners.delete(fn);
  }, []);
  return { path: location.pathname, query: new URLSearchParams(location.search) };
}

export function setQuery(params, { replace = true } = {}) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  navigate(location.pathname + (s ? '?' + s : ''), { replace });
}

export function startRouter() {
  window.addEventListener('popstate', notify);
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest && e.target.closest('a[href]');
    if (!a || a.target || a.hasAttribute('download') || a.dataset.external !== undefined) return;
    const href = a.getAttribute('href');
    if (!href || !href.startsWith('/') || href.startsWith('//') || href.startsWith('/api/')) return;
    e.preventDefault();
    navigate(href);
  });
}

// routes: [['/photos/:id', Component], ...]; answers [Component, params] or null.
export function match(routes, path) {
  for (const [pattern, component] of routes) {
    const names = [];
    const re = new RegExp(
      '^' +
        pattern.replace(/\/:(\w+)/g, (_, n) => {
          names.push(n);
          return '/([^/]+)';
        }) +
        '/?$',
    );
    const m = re.exec(path);
    if (m) {
      const params = {};
      names.forEach((n, i) => {
        try {
          params[n] = decodeURIComponent(m[i + 1]);
        } catch {
          params[n] = m[i + 1];
        }
      });
      return [component, params];
    }
  }
  return null;
}
