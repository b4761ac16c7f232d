// The console: a hash-routed single page (#/keys, #/watch, ...) over one Session.
import { render, type JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { anonymous, login, selfEndpoint, type Session } from './session.js';
import { ErrorBox } from './ui.js';
import { KeysPage } from './pages/keys.js';
import { WatchPage } from './pages/watch.js';
import { ClusterPage } from './pages/cluster.js';
import { LeasesPage } from './pages/leases.js';
import { ServicesPage } from './pages/services.js';
import { ConfigPage } from './pages/config.js';
import { LocksPage } from './pages/locks.js';
import { UsersPage } from './pages/users.js';

interface Page {
  readonly path: string;
  readonly title: string;
  readonly view: (props: { session: Session }) => JSX.Element;
  readonly rootOnly?: boolean;
}

const PAGES: readonly Page[] = [
  { path: 'keys', title: 'Keys', view: KeysPage },
  { path: 'watch', title: 'Watch', view: WatchPage },
  { path: 'cluster', title: 'Cluster', view: ClusterPage },
  { path: 'leases', title: 'Leases', view: LeasesPage },
  { path: 'services', title: 'Services', view: ServicesPage },
  { path: 'config', title: 'Configuration', view: ConfigPage },
  { path: 'locks', title: 'Locks & elections', view: LocksPage },
  { path: 'users', title: 'Users & roles', view: UsersPage, rootOnly: true },
];

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = (): void => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash.replace(/^#\/?/, '').split('?')[0] ?? '';
}

function Login(props: { readonly onSession: (s: Session) => void }): JSX.Element {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = (ev: Event): void => {
    ev.preventDefault();
    setBusy(true);
    login(selfEndpoint(), user, password).then(
      (s) => props.onSession(s),
      (err: unknown) => {
        setError(err);
        setBusy(false);
      },
    );
  };
  return (
    <form class="login card" onSubmit={submit} data-testid="login">
      <h2>Log in to Cairn</h2>
      <p class="hint">Authentication is on for this cluster. Your credentials stay in this page's memory only.</p>
      <label>
        User <input name="user" autocomplete="username" value={user} onInput={(e) => setUser(e.currentTarget.value)} required />
      </label>
      <label>
        Password <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={busy}>
        {busy ? 'Logging in…' : 'Log in'}
      </button>
      <ErrorBox error={error} title="Login failed" />
    </form>
  );
}

function App(): JSX.Element {
  const [session, setSession] = useState<Session | 'login' | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const route = useHash();
  useEffect(() => {
    anonymous(selfEndpoint()).then(setSession, setError);
  }, []);
  const logout = (): void => {
    if (typeof session === 'object') session.client.close();
    setSession('login');
  };
  let body: JSX.Element;
  if (error !== undefined) body = <ErrorBox error={error} title={`Cannot reach ${selfEndpoint()}`} />;
  else if (session === undefined) body = <p class="boot">Connecting to {selfEndpoint()}…</p>;
  else if (session === 'login') body = <Login onSession={setSession} />;
  else {
    const page = PAGES.find((p) => p.path === route) ?? PAGES[0]!;
    const View = page.view;
    body = page.rootOnly === true && !session.isRoot ? <ErrorBox error={new Error('only root may see users and roles')} title="Not allowed" /> : <View key={page.path} session={session} />;
  }
  const current = typeof session === 'object' ? session : undefined;
  return (
    <div class="shell">
      <nav>
        <h1>Cairn</h1>
        {current !== undefined &&
          PAGES.filter((p) => p.rootOnly !== true || current.isRoot).map((p) => (
            <a key={p.path} href={`#/${p.path}`} class={(PAGES.find((x) => x.path === route) ?? PAGES[0]!).path === p.path ? 'active' : ''}>
              {p.title}
            </a>
          ))}
        <div class="who">
          {current?.user !== undefined && (
            <>
              <span data-testid="user">{current.user}</span> <button class="link" onClick={logout}>Log out</button>
            </>
          )}
          {current !== undefined && !current.authEnabled && <span class="hint">auth off</span>}
        </div>
      </nav>
      <main>{body}</main>
    </div>
  );
}

const root = document.getElementById('app')!;
// The boot message is plain HTML, not Preact's: clear it before the first render.
root.textContent = '';
render(<App />, root);
