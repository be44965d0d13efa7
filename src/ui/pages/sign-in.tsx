import { useState } from 'preact/hooks';
import { api, auth, basicHeader } from '../api/client';

/** Checks the key against GET /profile before keeping it (in sessionStorage only: gone when the tab closes). */
export function SignIn() {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const k = key.trim();
    if (!k) return setError('Enter an API key.');
    setBusy(true);
    setError(null);
    try {
      const res = await api.GET('/profile', { headers: { Authorization: basicHeader(k) } });
      if (res.response.status === 401) setError('That API key was not accepted.');
      else if (!res.response.ok) setError(`The server answered ${res.response.status}.`);
      else auth.signIn(k);
    } catch {
      setError('The server could not be reached.');
    } finally {
      setBusy(false);
    }
  };
  document.title = 'Sign in · Syncline';
  return (
    <main id="main" class="signin">
      <form class="card signin-card" onSubmit={submit} aria-labelledby="signin-title" noValidate>
        <h1 id="signin-title">Sign in to Syncline</h1>
        <p class="muted">
          Use an API key of this server (printed at its first start, or made with <code>syncline keys create</code>). It is kept in this
          browser tab only and sent with each API call.
        </p>
        <label for="apikey">API key</label>
        <input
          id="apikey"
          name="apikey"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={key}
          onInput={(e) => setKey((e.currentTarget as HTMLInputElement).value)}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? 'signin-error' : undefined}
        />
        {error ? (
          <p id="signin-error" class="field-error" role="alert">
            {error}
          </p>
        ) : null}
        <button class="btn btn-primary" type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
