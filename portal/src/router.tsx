import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';

const base = '/portal';
const listeners = new Set<() => void>();

/** Path inside the portal, without the /portal prefix, always starting with "/". */
function currentPath(): string {
  const path = window.location.pathname.startsWith(base) ? window.location.pathname.slice(base.length) : window.location.pathname;
  return path === '' ? '/' : path;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = `${base}${to}`;
  if (options.replace) {
    window.history.replaceState(null, '', url);
  } else {
    window.history.pushState(null, '', url);
  }
  listeners.forEach((listener) => listener());
  if (!options.replace) {
    // A new page moves the focus to its content, as a page load would, so keyboard and screen
    // reader users start there. Replacements (filters) keep the focus where it is.
    window.scrollTo(0, 0);
    window.requestAnimationFrame(() => document.getElementById('main')?.focus({ preventScroll: true }));
  }
}

/** Returns the current path and query, and re-renders the caller on navigation. */
export function useLocation(): { path: string; search: URLSearchParams } {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const update = () => setVersion((version) => version + 1);
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return { path: currentPath(), search: new URLSearchParams(window.location.search) };
}

/** Replaces the query string without a new history entry, for filters. */
export function setSearch(values: Record<string, string | undefined>): void {
  const search = new URLSearchParams(window.location.search);
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined || value === '') {
      search.delete(name);
    } else {
      search.set(name, value);
    }
  }
  const text = search.toString();
  navigate(`${currentPath()}${text ? `?${text}` : ''}`, { replace: true });
}

/** Matches `pattern` such as "/app/:appId/endpoints/:endpointId" against `path`. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const patternParts = pattern.split('/').filter(Boolean);
  const pathParts = path.split('/').filter(Boolean);
  if (patternParts.length !== pathParts.length) {
    return null;
  }
  const params: Record<string, string> = {};
  for (let index = 0; index < patternParts.length; index += 1) {
    const expected = patternParts[index] as string;
    const actual = pathParts[index] as string;
    if (expected.startsWith(':')) {
      params[expected.slice(1)] = decodeURIComponent(actual);
    } else if (expected !== actual) {
      return null;
    }
  }
  return params;
}

/** Renders a link inside the portal that navigates without reloading the page. */
export function Link({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const handleClick = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    navigate(to);
  };
  return <a href={`${base}${to}`} onClick={handleClick} {...rest} />;
}
