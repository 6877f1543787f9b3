import { useState } from 'preact/hooks';
import { requestPasswordReset, resetPassword } from '../api.js';
import { useAction, useSession, useTitle } from '../hooks.js';
import { navigate } from '../router.js';
import { ErrorMsg, Notice, PageHead } from '../ui.jsx';
import { NewPasswordFields, newPasswordProblem } from './security.jsx';


// The same words whether or not the address has an account (the server's answer is the same too).
export const RESET_SENT =
  'If an account has this address, we sent it a link to choose a new password. The link works once, for 30 minutes.';

// /forgot: asks for a reset mail.
export function Forgot({ query }) {
  useTitle('Forgot your password');
  const [email, setEmail] = useState(query.get('email') || '');
  const [sent, setSent] = useState(false);
  const act = useAction();
  const submit = (e) => {
    e.preventDefault();
    setSent(false);
    act.run(async () => {
      await requestPasswordReset(email.trim());
      setSent(true);
    });
  };
  return (
    <section class="narrow">
      <PageHead title="Forgot your password?">
        <p class="muted">Enter the email address of your account: we mail it a link to choose a new password.</p>
      </PageHead>
      <form class="stack" onSubmit={submit} aria-describedby={act.error ? 'fp-error' : undefined}>
        <div class="field">
          <label for="fp-email">Email</label>
          <input
            id="fp-email"
            name="email"
            type="email"
            autocomplete="email"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </div>
        {act.error && (
          <div id="fp-error">
            <ErrorMsg error={act.error} />
          </div>
        )}
        {sent && <Notice kind="ok">{RESET_SENT}</Notice>}
        <button type="submit" disabled={act.busy}>
          {act.busy ? 'Sending…' : 'Send reset link'}
        </button>
      </form>
      <p class="muted">
        Remembered it? <a href="/login">Sign in</a>.
      </p>
    </section>
  );
}

// The token from the mail's link (/reset#token=...). It rides in the fragment, which browsers
// never send to a server; it leaves the address bar (and so the history) as soon as it is read.
function takeToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (!params.has('token')) return '';
  history.replaceState(history.state, '', location.pathname + location.search);
  return (params.get('token') || '').trim();
}

// /reset#token=...: sets a new password with the token from the reset mail.
export function Reset() {
  useTitle('Choose a new password');
  const s = useSession();
  const [resetToken] = useState(takeToken);
  const empty = { next: '', confirm: '' };
  const [form, setForm] = useState(empty);
  const act = useAction();
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  if (!resetToken)
    return (
      <section class="narrow">
        <PageHead title="Choose a new password" />
        <div class="panel stack">
          <p>
            To choose a new password, open the link from a password-reset email: it carries the key this page needs
            (and works once). If you have no such email, or its link was used already, ask for a new one.
          </p>
          <p>
            <a href="/forgot">Ask for a new link</a>
          </p>
        </div>
      </section>
    );
  const submit = (e) => {
    e.preventDefault();
    const problem = newPasswordProblem(form);
    if (problem) return act.setError(problem);
    act.run(async () => {
      await resetPassword(resetToken, form.next);
      navigate('/login', { replace: true });
    });
  };
  // The link is used, expired or unknown (or the request was refused): only a new one helps.
  const deadLink =
    act.error && act.error.status === 400 && !['weak_password', 'invalid_password'].includes(act.error.code);
  return (
    <section class="narrow">
      <PageHead title="Choose a new password" />
      {s.user && (
        <Notice>
          You are signed in as @{s.user.username}. A new password signs the account out everywhere, this browser
          included.
        </Notice>
      )}
      <form class="stack" onSubmit={submit} aria-describedby={act.error ? 'rp-error' : undefined}>
        <NewPasswordFields idPrefix="rp" form={form} set={set} />
        {act.error && (
          <div id="rp-error" class="stack">
            <ErrorMsg error={act.error} />
            {deadLink && (
              <p>
                <a href="/forgot">Ask for a new link</a>
              </p>
            )}
          </div>
        )}
        <button type="submit" disabled={act.busy}>
          {act.busy ? 'Saving…' : 'Set new password'}
        </button>
      </form>
    </section>
  );
}
