import { render } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, AppsAnswer, userApi } from './api';
import { Collections, Selection } from './components/collections';
import { Devices } from './components/devices';
import { History } from './components/history';
import { Live } from './components/live';
import { Records } from './components/records';
import { SignIn } from './components/sign-in';
import { LiveChange, useLive } from './live';
import { userToken } from './session';
import './styles.css';

/** `#/<app>/<collection>/<record>`: the selection, so a view can be linked and gone back to. */
function readHash(): Selection {
  const [app, collection, record] = location.hash
    .replace(/^#\/?/, '')
    .split('/')
    .map((part) => (part ? decodeURIComponent(part) : undefined));
  return { app, collection: app ? collection : undefined, record: collection ? record : undefined };
}

function writeHash(selection: Selection): void {
  const parts = [selection.app, selection.collection, selection.record].filter(
    (p): p is string => p !== undefined,
  );
  const hash = parts.length ? `#/${parts.map(encodeURIComponent).join('/')}` : '';
  if (location.hash !== hash) history.pushState(null, '', hash || location.pathname);
}

function Inspector() {
  const [token, setToken] = useState(userToken.get());
  const [notice, setNotice] = useState<string>();
  const signIn = (value: string) => {
    userToken.set(value);
    setNotice(undefined);
    setToken(value);
  };
  const signOut = (why?: string) => {
    userToken.set(undefined);
    setNotice(why);
    setToken(undefined);
  };
  if (!token) {
    return (
      <SignIn
        local={document.body.dataset.localSignIn === 'true'}
        notice={notice}
        onToken={signIn}
      />
    );
  }
  return <Signed token={token} onSignOut={signOut} />;
}

function Signed({ token, onSignOut }: { token: string; onSignOut: (why?: string) => void }) {
  const api = useMemo(() => userApi(token), [token]);
  const [apps, setApps] = useState<AppsAnswer>();
  const [error, setError] = useState<string>();
  const [selection, setSelection] = useState<Selection>(readHash);
  /** Bumped per collection / record when a change of it arrives live: their views read again. */
  const [versions, setVersions] = useState(new Map<string, number>());
  const refreshTimer = useRef<number | undefined>(undefined);

  const [start, setStart] = useState<{ cursor: string; collections: Map<string, string[]> }>();

  const loadApps = useCallback(
    () =>
      api.apps().then(
        (answer) => {
          setApps(answer);
          // The stream starts where the log ended when the page loaded; later collections join it.
          setStart(
            (first) =>
              first ?? {
                cursor: answer.liveCursor,
                collections: new Map(
                  answer.apps.map((a) => [a.appId, a.collections.map((c) => c.name)]),
                ),
              },
          );
        },
        (e: unknown) => {
          if (e instanceof ApiError && e.status === 401) onSignOut(`Signed out: ${e.message}`);
          else setError(e instanceof Error ? e.message : String(e));
        },
      ),
    [api, onSignOut],
  );

  useEffect(() => void loadApps(), [loadApps]);
  useEffect(() => {
    const onPop = () => setSelection(readHash());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  const onLive = useCallback(
    (change: LiveChange) => {
      setVersions((v) => {
        const next = new Map(v);
        for (const key of [
          `${change.app}/${change.collection}`,
          `${change.app}/${change.collection}/${change.recordId}`,
        ]) {
          next.set(key, (next.get(key) ?? 0) + 1);
        }
        return next;
      });
      // Counts and new collections: the list is read again, at most once a second.
      clearTimeout(refreshTimer.current);
      refreshTimer.current = window.setTimeout(() => void loadApps(), 1000);
    },
    [loadApps],
  );
  const live = useLive(api, token, start, onLive);

  const select = (next: Selection) => {
    writeHash(next);
    setSelection(next);
  };

  const { app, collection, record } = selection;
  return (
    <>
      <header class="top">
        <h1>Sync inspector</h1>
        <p class="who">
          {apps ? (
            <>
              Signed in as <strong data-user-id={apps.userId}>{apps.userId}</strong>
              {apps.spaceIds.length > 0 && ` · spaces: ${apps.spaceIds.join(', ')}`}
            </>
          ) : (
            'Signing in…'
          )}
        </p>
        <nav aria-label="Pages">
          <a href="/inspect/ops">Operations dashboard</a>
        </nav>
        <button type="button" class="secondary" onClick={() => onSignOut()}>
          Sign out
        </button>
      </header>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <main class="layout">
        <div class="side">
          {apps && <Collections apps={apps} selected={selection} onSelect={select} />}
          <Live
            changes={live.changes}
            following={live.following}
            error={live.error}
            onOpen={(c) => select({ app: c.app, collection: c.collection, record: c.recordId })}
          />
          <Devices api={api} />
        </div>
        <div class="main">
          {app && collection ? (
            <>
              {record && (
                <History
                  key={`${app}/${collection}/${record}`}
                  api={api}
                  app={app}
                  collection={collection}
                  record={record}
                  version={versions.get(`${app}/${collection}/${record}`) ?? 0}
                  onClose={() => select({ app, collection })}
                />
              )}
              <Records
                api={api}
                app={app}
                collection={collection}
                version={versions.get(`${app}/${collection}`) ?? 0}
                selected={record}
                onOpen={(id) => select({ app, collection, record: id })}
              />
            </>
          ) : (
            <section class="panel">
              <h2>Pick a collection</h2>
              <p class="meta">Its records appear here; open one to read its history.</p>
            </section>
          )}
        </div>
      </main>
    </>
  );
}

render(<Inspector />, document.getElementById('app')!);
