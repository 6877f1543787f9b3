import { useState } from 'preact/hooks';
import { api, getSession, login } from '../api.js';
import { useAction, useSession, useTitle } from '../hooks.js';
import { navigate } from '../router.js';
import { ErrorMsg, Notice, PageHead } from '../ui.jsx';

function safeNext(next) {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/';
}

export function Login({ query }) {
  useTitle('Sign in');
  const s = useSession();
  const [form, setForm] = useState({ login: query.get('login') || '', password: '' });
  const act = useAction();
  const next = safeNext(query.get('next'));
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      await login(form.login.trim(), form.password);
      navigate(next, { replace: true });
    });
  };
  const unverified = act.error && act.error.code === 'email_not_verified';
  // An email address typed as the login comes along to the reset screen.
  const typed = form.login.trim();
  const forgotHref = typed.includes('@') ? `/forgot?email=${encodeURIComponent(typed)}` : '/forgot';
  return (
    <section class="narrow">
      <PageHead title="Sign in" />
      {s.notice && !act.error && <Notice>{s.notice}</Notice>}
      {query.get('verified') && <Notice kind="ok">Your email address is confirmed. You can sign in now.</Notice>}
      {s.user && (
        <Notice>
          You are signed in as @{s.user.username}. <a href="/">Go to your feed</a>.
        </Notice>
      )}
      <form class="stack" onSubmit={submit} aria-describedby={act.error ? 'login-error' : undefined}>
        <div class="field">
          <label for="login-name">Username or email</label>
          <input
            id="login-name"
            name="username"
            autocomplete="username"
            required
            value={form.login}
            onInput={(e) => setForm({ ...form, login: e.currentTarget.value })}
          />
        </div>
        <div class="field">
          <label for="login-password">Password</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={form.password}
            onInput={(e) => setForm({ ...form, password: e.currentTarget.value })}
          />
          <p class="hint">
            <a href={forgotHref}>Forgot your password?</a>
          </p>
        </div>
        <div id="login-error">
          <ErrorMsg error={act.error} />
        </div>
        {unverified && (
          <p>
            <a href={`/verify?username=${encodeURIComponent(form.login.trim())}`}>Enter your verification code</a>
          </p>
        )}
        <button type="submit" disabled={act.busy}>
          {act.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p class="muted">
        New here? <a href="/signup">Create an account</a>.
      </p>
    </section>
  );
}

export function Signup() {
  useTitle('Sign up');
  const [form, setForm] = useState({ username: '', email: '', password: '' });
  const act = useAction();
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      const u = await api('/auth/signup', {
        method: 'POST',
        json: { username: form.username.trim().toLowerCase(), email: form.email.trim(), password: form.password },
      });
      navigate(`/verify?username=${encodeURIComponent(u.username)}&sent=1`);
    });
  };
  return (
    <section class="narrow">
      <PageHead title="Create your account" />
      <form class="stack" onSubmit={submit}>
        <div class="field">
          <label for="su-username">Username</label>
          <input
            id="su-username"
            autocomplete="username"
            required
            minLength={3}
            maxLength={30}
            pattern="[A-Za-z0-9_.]{3,30}"
            aria-describedby="su-username-hint"
            value={form.username}
            onInput={set('username')}
          />
          <p class="hint" id="su-username-hint">
            3 to 30 letters, digits, dots or underscores.
          </p>
        </div>
        <div class="field">
          <label for="su-email">Email</label>
          <input id="su-email" type="email" autocomplete="email" required value={form.email} onInput={set('email')} />
        </div>
        <div class="field">
          <label for="su-password">Password</label>
          <input
            id="su-password"
            type="password"
            autocomplete="new-password"
            required
            minLength={8}
            aria-describedby="su-password-hint"
            value={form.password}
            onInput={set('password')}
          />
          <p class="hint" id="su-password-hint">
            At least 8 characters.
          </p>
        </div>
        <ErrorMsg error={act.error} />
        <button type="submit" disabled={act.busy}>
          {act.busy ? 'Creating…' : 'Create account'}
        </button>
      </form>
      <p class="muted">
        Already have an account? <a href="/login">Sign in</a>.
      </p>
    </section>
  );
}

export function Verify({ query }) {
  useTitle('Confirm your email');
  const [username, setUsername] = useState(query.get('username') || '');
  const [code, setCode] = useState('');
  const act = useAction();
  const resend = useAction();
  const [resent, setResent] = useState(false);
  const submit = (e) => {
    e.preventDefault();
    act.run(async () => {
      await api('/auth/verify', { method: 'POST', json: { username: username.trim().toLowerCase(), code: code.trim() } });
      navigate(
        getSession().user ? '/' : `/login?verified=1&login=${encodeURIComponent(username.trim().toLowerCase())}`,
        { replace: true },
      );
    });
  };
  const again = () =>
    resend.run(async () => {
      setResent(false);
      await api('/auth/resend', { method: 'POST', json: { username: username.trim().toLowerCase() } });
      setResent(true);
    });
  return (
    <section class="narrow">
      <PageHead title="Confirm your email" />
      {query.get('sent') && (
        <Notice kind="ok">Account created. We sent a 6-digit code to your email address: enter it below.</Notice>
      )}
      <form class="stack" onSubmit={submit}>
        <div class="field">
          <label for="v-username">Username</label>
          <input id="v-username" autocomplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="v-code">Verification code</label>
          <input
            id="v-code"
            inputMode="numeric"
            autocomplete="one-time-code"
            pattern="[0-9]{6}"
            maxLength={6}
            required
            aria-describedby="v-code-hint"
            value={code}
            onInput={(e) => setCode(e.currentTarget.value)}
          />
          <p class="hint" id="v-code-hint">
            The 6 digits from the email; valid for 24 hours.
          </p>
        </div>
        <ErrorMsg error={act.error} />
        <button type="submit" disabled={act.busy}>
          {act.busy ? 'Checking…' : 'Confirm'}
        </button>
      </form>
      <div class="stack">
        <p class="muted">No email?</p>
        <button type="button" class="secondary" disabled={resend.busy || !username.trim()} onClick={again}>
          Send a new code
        </button>
        <ErrorMsg error={resend.error} />
        {resent && <Notice kind="ok">If the account is waiting for confirmation, a new code is on its way.</Notice>}
      </div>
    </section>
  );
}
