import { useState } from 'preact/hooks';
import { useClient } from './use-client';

/** Sign in, create an account, or continue as a guest. */
export function SignIn() {
  const client = useClient();
  const [mode, setMode] = useState<'signin' | 'register'>('signin');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [guestName, setGuestName] = useState('');
  const online = client.state.link === 'online';
  const submit = (e: Event) => {
    e.preventDefault();
    if (mode === 'signin') client.login(username.trim(), password);
    else client.register(username.trim(), password);
  };
  return (
    <div class="signin-page">
      <div class="signin-card">
        <h1 class="brand">
          <span class="brand-mark" aria-hidden="true">
            ◆
          </span>{' '}
          Switchboard
        </h1>
        <div class="tabs" role="tablist" aria-label="Account">
          <button type="button" role="tab" aria-selected={mode === 'signin'} class={mode === 'signin' ? 'tab active' : 'tab'} onClick={() => setMode('signin')}>
            Sign in
          </button>
          <button type="button" role="tab" aria-selected={mode === 'register'} class={mode === 'register' ? 'tab active' : 'tab'} onClick={() => setMode('register')}>
            Create account
          </button>
        </div>
        <form onSubmit={submit} aria-label={mode === 'signin' ? 'Sign in' : 'Create account'}>
          <label>
            Username
            <input name="username" autocomplete="username" required pattern="[A-Za-z][A-Za-z0-9]{2,15}" title="3 to 16 letters and digits, starting with a letter" value={username} onInput={(e) => setUsername(e.currentTarget.value)} />
          </label>
          <label>
            Password
            <input name="password" type="password" autocomplete={mode === 'signin' ? 'current-password' : 'new-password'} required minLength={8} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
          </label>
          {client.authError && (
            <p class="form-error" role="alert">
              {client.authError}
            </p>
          )}
          <button type="submit" class="primary" disabled={!online}>
            {mode === 'signin' ? 'Sign in' : 'Create account and sign in'}
          </button>
        </form>
        <div class="divider">
          <span>or</span>
        </div>
        <form
          class="guest-form"
          aria-label="Continue as guest"
          onSubmit={(e) => {
            e.preventDefault();
            client.continueAsGuest(guestName.trim());
          }}
        >
          <label>
            Guest name (optional)
            <input name="guest" placeholder={client.state.identity || 'guest'} pattern="[A-Za-z][A-Za-z0-9]{2,15}" value={guestName} onInput={(e) => setGuestName(e.currentTarget.value)} />
          </label>
          <button type="submit" disabled={!online}>
            Continue as guest
          </button>
        </form>
      </div>
    </div>
  );
}
