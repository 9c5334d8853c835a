import { useEffect, useState, type ReactNode } from 'react';
import { api, appPath, captureLinkToken, onReadOnly, onUnauthorized, readSession, saveSession, type Application, type Session } from './api';
import { SessionContext, useResource, useSession, useTheme, type Theme } from './hooks';
import { ActivityPage } from './pages/activity';
import { ApplicationsPage } from './pages/applications';
import { AttemptDetailPage } from './pages/attempt-detail';
import { CatalogPage } from './pages/catalog';
import { EndpointDetailPage } from './pages/endpoint-detail';
import { EndpointFormPage } from './pages/endpoint-form';
import { EndpointsPage } from './pages/endpoints';
import { LogsPage, MessagePage } from './pages/logs';
import { ExpiredPage, SignInPage } from './pages/sign-in';
import { SystemPage } from './pages/system';
import { Link, match, navigate, useLocation } from './router';
import { Icon } from './ui';

export function App() {
  const [session, setSession] = useState<Session | null>(() => captureLinkToken() ?? readSession());
  const [expired, setExpired] = useState(false);
  const [theme, setTheme] = useTheme();

  useEffect(
    () =>
      onUnauthorized(() => {
        // A wrong token typed on the sign-in page is not an expired session.
        if (!readSession()) {
          return;
        }
        saveSession(null);
        setSession(null);
        setExpired(true);
      }),
    [],
  );

  // The portal learns that a link is read-only when the API first rejects a change. From then on a banner shows it.
  useEffect(
    () =>
      onReadOnly(() => {
        setSession((current) => {
          if (current?.kind !== 'app' || current.readOnly) {
            return current;
          }
          const next = { ...current, readOnly: true };
          saveSession(next);
          return next;
        });
      }),
    [],
  );

  const signIn = (next: Session) => {
    saveSession(next);
    setSession(next);
    setExpired(false);
    navigate(next.kind === 'admin' ? '/apps' : `${appPath(next.appId)}/endpoints`, { replace: true });
  };
  const signOut = async () => {
    if (session?.kind === 'app') {
      // Revokes the portal token where the server supports it; signing out works without it.
      await api(session, 'POST', '/auth/logout').catch(() => undefined);
    }
    saveSession(null);
    setSession(null);
    navigate('/', { replace: true });
  };

  if (!session) {
    return (
      <Frame theme={theme} setTheme={setTheme}>
        {expired ? <ExpiredPage /> : <SignInPage onSignIn={signIn} />}
      </Frame>
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Frame theme={theme} setTheme={setTheme} session={session} onSignOut={() => void signOut()}>
        <Routes session={session} />
      </Frame>
    </SessionContext.Provider>
  );
}

function ThemeSwitch({ theme, setTheme }: { theme: Theme; setTheme: (theme: Theme) => void }) {
  return (
    <div className="theme-switch">
      <label htmlFor="theme">Theme</label>
      <select id="theme" value={theme} onChange={(event) => setTheme(event.target.value as Theme)}>
        <option value="system">System</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </div>
  );
}

function Frame({ children, theme, setTheme, session, onSignOut }: { children: ReactNode; theme: Theme; setTheme: (theme: Theme) => void; session?: Session; onSignOut?: () => void }) {
  const { path } = useLocation();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to={session?.kind === 'app' ? `${appPath(session.appId)}/endpoints` : '/'} className="brand">
          <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
            <path d="M12 3v9a4 4 0 1 1-4-4" fill="none" stroke="currentColor" strokeWidth="2.4" strokeLinecap="round" />
          </svg>
          Hookline
        </Link>
        {session?.kind === 'admin' ? (
          <nav aria-label="Operator" className="topnav">
            <NavLink to="/apps" path={path} icon="apps">
              Applications
            </NavLink>
            <NavLink to="/catalog" path={path} icon="catalog">
              Event catalog
            </NavLink>
            <NavLink to="/system" path={path} icon="system">
              System
            </NavLink>
          </nav>
        ) : null}
        <div className="topbar-end">
          <ThemeSwitch theme={theme} setTheme={setTheme} />
          {onSignOut ? (
            <button type="button" className="button button-small" onClick={onSignOut}>
              <Icon name="out" /> Sign out
            </button>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {session?.kind === 'app' && session.readOnly ? (
          <p className="notice readonly-banner" role="status">
            This link is read-only: you can look at everything here, but changes need a link with full access from your platform.
          </p>
        ) : null}
        {children}
      </main>
    </>
  );
}

function NavLink({ to, path, icon, children }: { to: string; path: string; icon: string; children: ReactNode }) {
  const current = path === to || path.startsWith(`${to}/`);
  return (
    <Link to={to} className={current ? 'navlink current' : 'navlink'} aria-current={current ? 'page' : undefined}>
      <Icon name={icon} /> {children}
    </Link>
  );
}

function Routes({ session }: { session: Session }) {
  const { path } = useLocation();
  const inApp = /^\/app\/([^/]+)/.exec(path);
  const appId = inApp?.[1] === undefined ? undefined : decodeURIComponent(inApp[1]);

  useEffect(() => {
    if (session.kind === 'app' && appId !== session.appId) {
      navigate(`${appPath(session.appId)}/endpoints`, { replace: true });
    } else if (session.kind === 'admin' && (path === '/' || path === '')) {
      navigate('/apps', { replace: true });
    }
  }, [session, appId, path]);

  if (appId) {
    return <ApplicationArea appId={appId} path={path.slice(appPath(appId).length) || '/'} />;
  }
  if (session.kind !== 'admin') {
    return null;
  }
  if (path === '/apps') {
    return <ApplicationsPage />;
  }
  if (path === '/system') {
    return <SystemPage />;
  }
  if (path === '/catalog') {
    return <CatalogPage />;
  }
  return <NotFound />;
}

function NotFound() {
  return (
    <section className="page">
      <h1>Page not found</h1>
      <p>
        This address is not a page of the portal. <Link to="/">Go to the start page</Link>.
      </p>
    </section>
  );
}

function ApplicationArea({ appId, path }: { appId: string; path: string }) {
  const session = useSession();
  const application = useResource((signal) => api<Application>(session, 'GET', `/app/${encodeURIComponent(appId)}`, { signal }), [appId]);
  const base = appPath(appId);
  const tabs = [
    { to: `${base}/endpoints`, label: 'Endpoints', icon: 'endpoints' },
    { to: `${base}/catalog`, label: 'Event catalog', icon: 'catalog' },
    { to: `${base}/logs`, label: 'Logs', icon: 'logs' },
    { to: `${base}/activity`, label: 'Activity', icon: 'activity' },
  ];
  const fullPath = `${base}${path === '/' ? '' : path}`;

  let page: ReactNode = <NotFound />;
  let params: Record<string, string> | null;
  if (path === '/' || path === '/endpoints') {
    page = <EndpointsPage appId={appId} />;
  } else if (path === '/endpoints/new') {
    page = <EndpointFormPage appId={appId} />;
  } else if ((params = match('/endpoints/:endpointId/edit', path))) {
    page = <EndpointFormPage appId={appId} endpointId={params.endpointId} />;
  } else if ((params = match('/endpoints/:endpointId/attempts/:msgId/:attemptId', path))) {
    page = <AttemptDetailPage appId={appId} endpointId={params.endpointId as string} msgId={params.msgId as string} attemptId={params.attemptId as string} />;
  } else if ((params = match('/endpoints/:endpointId', path))) {
    page = <EndpointDetailPage appId={appId} endpointId={params.endpointId as string} />;
  } else if (path === '/catalog') {
    page = <CatalogPage />;
  } else if (path === '/logs') {
    page = <LogsPage appId={appId} />;
  } else if ((params = match('/logs/:msgId', path))) {
    page = <MessagePage appId={appId} msgId={params.msgId as string} />;
  } else if (path === '/activity') {
    page = <ActivityPage appId={appId} />;
  }

  return (
    <div className="app-area">
      <div className="app-bar">
        <p className="app-name">
          {session.kind === 'admin' ? (
            <Link to="/apps" className="crumb">
              Applications /
            </Link>
          ) : null}{' '}
          <strong>{application.data?.name ?? appId}</strong>
        </p>
        <nav aria-label="Application" className="tabs">
          {tabs.map((tab) => {
            const current = fullPath === tab.to || fullPath.startsWith(`${tab.to}/`) || (tab.label === 'Endpoints' && path === '/');
            return (
              <Link key={tab.to} to={tab.to} className={current ? 'tab current' : 'tab'} aria-current={current ? 'page' : undefined}>
                <Icon name={tab.icon} /> {tab.label}
              </Link>
            );
          })}
        </nav>
      </div>
      {page}
    </div>
  );
}
