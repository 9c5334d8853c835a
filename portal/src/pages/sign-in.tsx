import { useState, type FormEvent } from 'react';
import { api, ApiError, type Session } from '../api';
import { Field, Notice } from '../ui';

export function SignInPage({ onSignIn }: { onSignIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const linkWithoutToken = window.location.pathname.startsWith('/portal/app/');

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = token.trim();
    if (!trimmed) {
      setError('Enter the admin token.');
      return;
    }
    setBusy(true);
    setError(undefined);
    const session: Session = { kind: 'admin', token: trimmed };
    try {
      await api(session, 'GET', '/app', { query: { limit: 1 } });
      onSignIn(session);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 403) {
        setError('This token belongs to one application. Open that application with its portal link instead.');
      } else if (caught instanceof ApiError && caught.status === 401) {
        setError('This is not the admin token. Check HOOKLINE_ADMIN_TOKEN, or the token printed when Hookline first started.');
      } else {
        setError(caught instanceof Error ? caught.message : String(caught));
      }
      setBusy(false);
    }
  };

  return (
    <section className="page narrow">
      <h1>Sign in to Hookline</h1>
      {linkWithoutToken ? (
        <Notice tone="error">This portal link has no token. Ask the platform that sent it for a new link.</Notice>
      ) : null}
      <p>
        Customers open the portal with the link their platform gives them and need no password. Operators sign in with the admin token.
      </p>
      <form onSubmit={(event) => void submit(event)} className="card form">
        <Field label="Admin token" error={error}>
          {(props) => <input {...props} type="password" autoComplete="current-password" value={token} onChange={(event) => setToken(event.target.value)} />}
        </Field>
        <button type="submit" className="button button-primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </section>
  );
}

export function ExpiredPage() {
  return (
    <section className="page narrow" aria-labelledby="expired-title">
      <h1 id="expired-title">This link has expired</h1>
      <Notice tone="error">The portal token was revoked or has expired, so this session has ended.</Notice>
      <p>
        Portal links work for a limited time. Go back to the platform that sent you here and open the webhooks portal again to get a fresh link.
      </p>
      <p>
        Operators can <a href="/portal/">sign in with the admin token</a>.
      </p>
    </section>
  );
}
