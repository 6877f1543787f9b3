import { useState } from 'preact/hooks';
import { changePassword, logoutAll } from '../api.js';
import { useAction, useSession, useTitle } from '../hooks.js';
import { navigate } from '../router.js';
import { ErrorMsg, Notice, PageHead, SignInPrompt } from '../ui.jsx';

const MIN_PASSWORD = 8;

/// Why a new password and its confirmation cannot be sent, or null. The server counts
/// characters (code points), not UTF-16 units.
export function newPasswordProblem(form) {
  if ([...form.next].length < MIN_PASSWORD)
    return new Error(`The new password must be at least ${MIN_PASSWORD} characters long.`);
  if (form.next !== form.confirm) return new Error('The new passwords do not match: type the same one twice.');
  return null;
}

/// The new password and its confirmation, for the change and the reset forms.
export function NewPasswordFields({ idPrefix, form, set }) {
  return (
    <>
      <div class="field">
        <label for={`${idPrefix}-new`}>New password</label>
        <input
          id={`${idPrefix}-new`}
          name="new-password"
          type="password"
          autocomplete="new-password"
          required
          aria-describedby={`${idPrefix}-new-hint`}
          value={form.next}
          onInput={set('next')}
        />
        <p class="hint" id={`${idPrefix}-new-hint`}>
          At least {MIN_PASSWORD} characters.
        </p>
      </div>
      <div class="field">
        <label for={`${idPrefix}-confirm`}>Confirm new password</label>
        <input
          id={`${idPrefix}-confirm`}
          name="confirm-password"
          type="password"
          autocomplete="new-password"
          required
          value={form.confirm}
          onInput={set('confirm')}
        />
      </div>
    </>
  );
}

function ChangePassword() {
  const empty = { current: '', next: '', confirm: '' };
  const [form, setForm] = useState(empty);
  const [changed, setChanged] = useState(false);
  const act = useAction();
  const set = (k) => (e) => setForm({ ...form, [k]: e.currentTarget.value });
  const submit = (e) => {
    e.preventDefault();
    setChanged(false);
    const problem = newPasswordProblem(form);
    if (problem) return act.setError(problem);
    act.run(async () => {
      await changePassword(form.current, form.next);
      setForm(empty);
      setChanged(true);
    });
  };
  return (
    <form class="stack panel" onSubmit={submit} aria-describedby={act.error ? 'pw-error' : undefined}>
      <h2>Change your password</h2>
      <div class="field">
        <label for="pw-current">Current password</label>
        <input
          id="pw-current"
          name="current-password"
          type="password"
          autocomplete="current-password"
          required
          value={form.current}
          onInput={set('current')}
        />
      </div>
      <NewPasswordFields idPrefix="pw" form={form} set={set} />
      {act.error && (
        <div id="pw-error">
          <ErrorMsg error={act.error} />
        </div>
      )}
      {changed && (
        <Notice kind="ok">
          Your password is changed. All your other sessions were signed out: other browsers and apps need the new
          password. This one stays signed in.
        </Notice>
      )}
      <button type="submit" disabled={act.busy}>
        {act.busy ? 'Changing…' : 'Change password'}
      </button>
    </form>
  );
}

function LogoutEverywhere() {
  const act = useAction();
  const run = () => {
    if (!confirm('Sign out on every device and browser, this one included?')) return;
    act.run(async () => {
      await logoutAll();
      navigate('/login', { replace: true });
    });
  };
  return (
    <div class="stack panel">
      <h2>Log out everywhere</h2>
      <p class="muted">
        Ends every session of your account: on other browsers, phones and apps, and this one. Use it when you signed in
        on a device you no longer have.
      </p>
      <ErrorMsg error={act.error} />
      <button type="button" class="danger" disabled={act.busy} onClick={run}>
        {act.busy ? 'Logging out…' : 'Log out everywhere'}
      </button>
    </div>
  );
}

export function Security() {
  useTitle('Account security');
  const s = useSession();
  if (!s.user)
    return (
      <section class="narrow">
        <PageHead title="Account security" />
        <SignInPrompt what="change your password or sign out everywhere" />
      </section>
    );
  return (
    <section class="narrow stack">
      <PageHead title="Account security">
        <p class="muted">
          Signed in as @{s.user.username}.
        </p>
      </PageHead>
      <ChangePassword />
      <LogoutEverywhere />
    </section>
  );
}
