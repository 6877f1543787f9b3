// The unread-notification count shown in the header, polled while signed in.
import { useEffect, useState } from 'preact/hooks';
import { api, getSession, subscribe } from './api.js';

let count = 0;
let timer = 0;
const listeners = new Set();

function set(n) {
  count = n;
  for (const fn of [...listeners]) fn(n);
}

let last = 0;

export async function refreshUnread(force = false) {
  if (!getSession().user) return set(0);
  const now = Date.now();
  if (!force && now - last < 2000) return;
  last = now;
  try {
    const r = await api('/notifications?limit=1');
    set(r.unread || 0);
  } catch {
    /* the header keeps the last count */
  }
}

function schedule() {
  clearTimeout(timer);
  if (!getSession().user) return;
  timer = setTimeout(async () => {
    if (document.visibilityState !== 'hidden') await refreshUnread(true);
    schedule();
  }, 15000);
}

let lastUser = null;
subscribe((s) => {
  const id = s.user ? s.user.id : null;
  if (id === lastUser) return;
  lastUser = id;
  refreshUnread(true);
  schedule();
});
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') refreshUnread();
});

export function useUnread() {
  const [n, setN] = useState(count);
  useEffect(() => {
    listeners.add(setN);
    setN(count);
    return () => listeners.delete(setN);
  }, []);
  return n;
}
