import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import { ApiError, type Session } from './api';

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) {
    throw new Error('useSession needs a signed-in session');
  }
  return session;
}

/** Interval of live updates. Lists ask for changes this often while the tab is visible. */
export const pollInterval = 5_000;

export interface Resource<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads data and keeps it fresh. With `poll`, it loads again every `poll` milliseconds
 * while the page is visible, stops while the tab is hidden, and loads at once when the tab
 * comes back. A change of `refreshKey` loads again too. Earlier data stays on screen while
 * a poll or refresh runs; a change of `deps` starts from nothing.
 */
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
  options: { poll?: number; refreshKey?: unknown } = {},
): Resource<T> {
  const [state, setState] = useState<{ data: T | undefined; error: ApiError | Error | undefined; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [version, setVersion] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    setState({ data: undefined, error: undefined, loading: true });
    // A change of inputs starts over; polls below keep the data on screen.
  }, deps);

  useEffect(() => {
    const controller = new AbortController();
    setState((previous) => ({ ...previous, loading: true }));
    loadRef
      .current(controller.signal)
      .then((data) => {
        if (!controller.signal.aborted) {
          setState({ data, error: undefined, loading: false });
        }
      })
      .catch((error: unknown) => {
        if (!controller.signal.aborted) {
          setState((previous) => ({ data: previous.data, error: error instanceof Error ? error : new Error(String(error)), loading: false }));
        }
      });
    return () => controller.abort();
  }, [...deps, version, options.refreshKey]);

  const poll = options.poll;
  useEffect(() => {
    if (!poll) {
      return undefined;
    }
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') {
        setVersion((value) => value + 1);
      }
    }, poll);
    const onVisibility = () => {
      if (document.visibilityState === 'visible') {
        setVersion((value) => value + 1);
      }
    };
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [poll]);

  const reload = useCallback(() => setVersion((value) => value + 1), []);
  return { ...state, reload };
}

/** True when a route of another part of Hookline is missing from this server (404 on the route itself). */
export function isUnavailable(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 405) && /No route/i.test(error.message);
}

/** Light, dark, or the system's choice, kept in localStorage. */
export type Theme = 'light' | 'dark' | 'system';

export function useTheme(): [Theme, (theme: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem('hookline.theme') as Theme | null) ?? 'system');
  useEffect(() => {
    localStorage.setItem('hookline.theme', theme);
    if (theme === 'system') {
      delete document.documentElement.dataset.theme;
    } else {
      document.documentElement.dataset.theme = theme;
    }
  }, [theme]);
  return [theme, setTheme];
}

/**
 * Position in an iterator-paged list. Next remembers the page it came from, so Previous
 * returns to exactly that page, and the first page has no Previous.
 */
export function usePages(): { iterator: string | undefined; atStart: boolean; next: (iterator: string) => void; previous: () => void; reset: () => void } {
  const [stack, setStack] = useState<(string | undefined)[]>([]);
  const [iterator, setIterator] = useState<string>();
  return {
    iterator,
    atStart: stack.length === 0,
    next: (nextIterator) => {
      setStack((previous) => [...previous, iterator]);
      setIterator(nextIterator);
    },
    previous: () => {
      setStack((previous) => {
        setIterator(previous[previous.length - 1]);
        return previous.slice(0, -1);
      });
    },
    reset: () => {
      setStack([]);
      setIterator(undefined);
    },
  };
}
