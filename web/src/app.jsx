import { Component } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { logout } from './api.js';
import { useSession } from './hooks.js';
import { match, navigate, useLocation } from './router.js';
import { refreshUnread, useUnread } from './unread.js';
import { Loading, PageHead } from './ui.jsx';
import { Bell, MenuIcon } from './icons.jsx';
import { Login, Signup, Verify } from './pages/auth.jsx';
import { Explore, Home } from './pages/feed.jsx';
import { PhotoPage } from './pages/photo.jsx';
import { Profile } from './pages/profile.jsx';
import { Search, TagPage } from './pages/search.jsx';
import { Upload } from './pages/upload.jsx';
import { Playground } from './pages/playground.jsx';
import { Notifications } from './pages/notifications.jsx';
import { Admin } from './pages/admin.jsx';
import { Security } from './pages/security.jsx';
import { Forgot, Reset } from './pages/reset.jsx';

const routes = [
  ['/', Home],
  ['/explore', Explore],
  ['/login', Login],
  ['/signup', Signup],
  ['/verify', Verify],
  ['/forgot', Forgot],
  ['/reset', Reset],
  ['/upload', Upload],
  ['/photos/:id', PhotoPage],
  ['/users/:username', Profile],
  ['/users/:username/:tab', Profile],
  ['/search', Search],
  ['/tags/:tag', TagPage],
  ['/playground', Playground],
  ['/notifications', Notifications],
  ['/admin', Admin],
  ['/settings/security', Security],
];

function NotFound() {
  return (
    <>
      <PageHead title="Page not found" />
      <p>
        There is nothing at this address. Go to the <a href="/">start page</a>.
      </p>
    </>
  );
}

class ErrorBoundary extends Component {
  constructor() {
    super();
    this.state = { error: null };
  }
  componentDidCatch(error) {
    this.setState({ error });
  }
  render({ children, path }, { error }) {
    if (error && this.lastPath === path) {
      return (
        <div class="msg msg-error" role="alert">
          <h1>Something went wrong</h1>
          <p>This page hit an unexpected problem: {String(error.message || error)}</p>
          <button type="button" onClick={() => location.reload()}>
            Reload the page
          </button>
        </div>
      );
    }
    if (this.lastPath !== path) {
      this.lastPath = path;
      if (error) this.state.error = null;
    }
    return children;
  }
}

function NavLink({ href, children, current, ...rest }) {
  const active = href === '/' ? current === '/' : current === href || current.startsWith(href + '/');
  return (
    <a href={href} aria-current={active ? 'page' : undefined} {...rest}>
      {children}
    </a>
  );
}

function Header({ path }) {
  const s = useSession();
  const unread = useUnread();
  const [open, setOpen] = useState(false);
  useEffect(() => setOpen(false), [path]);
  const user = s.user;
  const signOut = async () => {
    try {
      await logout();
    } finally {
      navigate('/login');
    }
  };
  return (
    <header class="top">
      <div class="top-inner">
        <a class="brand" href="/">
          <svg viewBox="0 0 32 32" width="28" height="28" aria-hidden="true">
            <path fill="currentColor" d="M16 2l12 7v14l-12 7-12-7V9z" />
            <circle cx="16" cy="16" r="6" fill="#fff" />
          </svg>
          PixHive
        </a>
        {user && (
          <a class="bell" href="/notifications">
            <Bell />
            <span class="sr-only">Notifications</span>
            {unread > 0 && (
              <>
                <span class="unread" data-testid="unread-count">
                  {unread > 99 ? '99+' : unread}
                </span>
                <span class="sr-only"> unread</span>
              </>
            )}
          </a>
        )}
        <button
          type="button"
          class="menu-toggle"
          aria-expanded={open ? 'true' : 'false'}
          aria-controls="main-nav"
          onClick={() => setOpen(!open)}
        >
          <MenuIcon /> Menu
        </button>
        <nav id="main-nav" class={open ? 'open' : ''} aria-label="Main">
          <ul>
            {user && (
              <li>
                <NavLink href="/" current={path}>
                  Home
                </NavLink>
              </li>
            )}
            <li>
              <NavLink href="/explore" current={path}>
                Explore
              </NavLink>
            </li>
            <li>
              <NavLink href="/search" current={path}>
                Search
              </NavLink>
            </li>
            {user && (
              <li>
                <NavLink href="/upload" current={path}>
                  Upload
                </NavLink>
              </li>
            )}
            <li>
              <NavLink href="/playground" current={path}>
                Playground
              </NavLink>
            </li>
            {user && user.role === 'admin' && (
              <li>
                <NavLink href="/admin" current={path}>
                  Admin
                </NavLink>
              </li>
            )}
            {user ? (
              <>
                <li>
                  <NavLink href={`/users/${user.username}`} current={path}>
                    @{user.username}
                  </NavLink>
                </li>
                <li>
                  <button type="button" class="nav-button" onClick={signOut}>
                    Sign out
                  </button>
                </li>
              </>
            ) : (
              <>
                <li>
                  <NavLink href="/login" current={path}>
                    Sign in
                  </NavLink>
                </li>
                <li>
                  <NavLink href="/signup" current={path} class="cta">
                    Sign up
                  </NavLink>
                </li>
              </>
            )}
          </ul>
        </nav>
      </div>
    </header>
  );
}

export function App() {
  const { path, query } = useLocation();
  const s = useSession();
  const first = useRef(true);
  useEffect(() => {
    if (s.user) refreshUnread();
    if (first.current) {
      first.current = false;
      return;
    }
    window.scrollTo(0, 0);
    const h = document.getElementById('page-title');
    if (h) h.focus({ preventScroll: true });
  }, [path]);
  const found = match(routes, path);
  const [Page, params] = found || [NotFound, {}];
  return (
    <>
      <a class="skip" href="#main" data-external onClick={(e) => {
        e.preventDefault();
        const m = document.getElementById('main');
        m.focus();
      }}>
        Skip to content
      </a>
      <Header path={path} />
      <main id="main" tabIndex={-1}>
        {s.ready ? (
          <ErrorBoundary path={path}>
            <Page key={path} params={params} query={query} />
          </ErrorBoundary>
        ) : (
          <Loading label="Starting PixHive…" />
        )}
      </main>
      <footer class="foot">
        <p>PixHive · self-hosted photo sharing</p>
      </footer>
    </>
  );
}
