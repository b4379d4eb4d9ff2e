import { useState } from 'preact/hooks';
import { ApiError, localSignIn } from '../api';

interface Props {
  /** Local development auth is on: "continue as" is offered. */
  local: boolean;
  notice?: string;
  onToken: (token: string) => void;
}

/** "Continue as <user id>" under local auth; a pasted token anywhere. */
export function SignIn({ local, notice, onToken }: Props) {
  const [userId, setUserId] = useState('alice');
  const [pasted, setPasted] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const continueAs = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onToken((await localSignIn(userId.trim())).token);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : 'The service did not answer');
    } finally {
      setBusy(false);
    }
  };

  const usePasted = (event: Event) => {
    event.preventDefault();
    const token = pasted.trim().replace(/^Bearer\s+/i, '');
    if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) {
      setError('That is not a JWT (three dot-separated parts)');
      return;
    }
    onToken(token);
  };

  return (
    <main class="sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sync inspector</h1>
      <p class="lead">
        See your apps' collections, each record as a device holds it after syncing, why a write
        lost, and changes arriving live. Everything is read with your token, so you see only what
        your devices could pull.
      </p>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {local && (
        <form class="card" onSubmit={continueAs} aria-labelledby="local-title">
          <h2 id="local-title">Local development auth</h2>
          <label for="user-id">User id</label>
          <input
            id="user-id"
            name="userId"
            value={userId}
            autoComplete="username"
            required
            maxLength={200}
            onInput={(e) => setUserId((e.target as HTMLInputElement).value)}
          />
          <button type="submit" disabled={busy || userId.trim() === ''}>
            Continue as {userId.trim() || '…'}
          </button>
        </form>
      )}
      <form class="card" onSubmit={usePasted} aria-labelledby="token-title">
        <h2 id="token-title">{local ? 'Or paste a token' : 'Paste a token'}</h2>
        <label for="token">Bearer token (kept in this tab only)</label>
        <textarea
          id="token"
          name="token"
          rows={3}
          spellcheck={false}
          value={pasted}
          onInput={(e) => setPasted((e.target as HTMLTextAreaElement).value)}
        />
        <button type="submit" disabled={pasted.trim() === ''}>
          Use this token
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </main>
  );
}
