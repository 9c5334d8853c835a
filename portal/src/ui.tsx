import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ApiError, type StatusText } from './api';
import { isUnavailable } from './hooks';

const iconPaths: Record<string, string> = {
  endpoints: 'M4 12h6m4 0h6M10 12a2 2 0 1 0 4 0 2 2 0 1 0-4 0M4 6h16M4 18h16',
  catalog: 'M5 4h11l3 3v13H5zM9 9h6M9 13h6M9 17h4',
  logs: 'M4 5h16M4 10h16M4 15h10M4 20h7',
  activity: 'M3 12h4l3-8 4 16 3-8h4',
  apps: 'M4 4h7v7H4zM13 4h7v7h-7zM4 13h7v7H4zM13 13h7v7h-7z',
  system: 'M12 3v3M12 18v3M3 12h3M18 12h3M12 8a4 4 0 1 0 0 8 4 4 0 1 0 0-8',
  copy: 'M9 9h10v10H9zM5 15V5h10',
  eye: 'M2 12s4-7 10-7 10 7 10 7-4 7-10 7S2 12 2 12zM12 9a3 3 0 1 0 0 6 3 3 0 1 0 0-6',
  plus: 'M12 5v14M5 12h14',
  back: 'M15 5l-7 7 7 7',
  sun: 'M12 7a5 5 0 1 0 0 10 5 5 0 1 0 0-10M12 1v2M12 21v2M4.2 4.2l1.4 1.4M18.4 18.4l1.4 1.4M1 12h2M21 12h2M4.2 19.8l1.4-1.4M18.4 5.6l1.4-1.4',
  moon: 'M21 13A9 9 0 1 1 11 3a7 7 0 0 0 10 10z',
  out: 'M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10',
};

export function Icon({ name, label }: { name: keyof typeof iconPaths | string; label?: string }) {
  return (
    <svg
      className="icon"
      viewBox="0 0 24 24"
      width="18"
      height="18"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.8"
      strokeLinecap="round"
      strokeLinejoin="round"
      role={label ? 'img' : undefined}
      aria-label={label}
      aria-hidden={label ? undefined : true}
      focusable="false"
    >
      <path d={iconPaths[name] ?? ''} />
    </svg>
  );
}

const statusLabels: Record<StatusText, string> = { success: 'Succeeded', fail: 'Failed', pending: 'Pending', sending: 'Sending' };

export function StatusBadge({ status }: { status: StatusText }) {
  return <span className={`badge badge-${status}`}>{statusLabels[status]}</span>;
}

export function Badge({ tone, children }: { tone: 'ok' | 'bad' | 'warn' | 'muted'; children: ReactNode }) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

export function Notice({ tone = 'info', children }: { tone?: 'info' | 'error' | 'ok'; children: ReactNode }) {
  return (
    <div className={`notice notice-${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** Shows an error of a load, or a short note when the route belongs to a part of Hookline this server lacks. */
export function LoadError({ error, what }: { error: unknown; what: string }) {
  if (!error) {
    return null;
  }
  if (isUnavailable(error)) {
    return <p className="unavailable">Not available on this server: {what.charAt(0).toLowerCase() + what.slice(1)}.</p>;
  }
  const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  return <Notice tone="error">Could not load {what.toLowerCase()}: {message}</Notice>;
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      Loading {what}…
    </p>
  );
}

export function PageHeader({ title, subtitle, actions }: { title: ReactNode; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <div className="page-header">
      <div>
        <h1>{title}</h1>
        {subtitle ? <p className="subtitle">{subtitle}</p> : null}
      </div>
      {actions ? <div className="actions">{actions}</div> : null}
    </div>
  );
}

/** Renders a modal that requests confirmation before an action that cannot be undone. Escape or Cancel closes it. */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  danger,
  onConfirm,
  onClose,
}: {
  title: string;
  children: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<void> | void;
  onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  useEffect(() => {
    ref.current?.showModal();
  }, []);
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
      onClose();
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
      setBusy(false);
    }
  };
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={titleId} onClose={onClose}>
      <h2 id={titleId}>{title}</h2>
      <div className="dialog-body">{children}</div>
      {error ? <Notice tone="error">{error}</Notice> : null}
      <div className="dialog-actions">
        <button type="button" className="button" onClick={onClose} autoFocus>
          Cancel
        </button>
        <button type="button" className={danger ? 'button button-danger' : 'button button-primary'} onClick={() => void confirm()} disabled={busy}>
          {confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Without clipboard access (plain HTTP on another host), select a hidden field instead.
      const field = document.createElement('textarea');
      field.value = text;
      document.body.append(field);
      field.select();
      document.execCommand('copy');
      field.remove();
    }
    setCopied(true);
    window.setTimeout(() => setCopied(false), 2000);
  };
  return (
    <button type="button" className="button button-small" onClick={() => void copy()}>
      <Icon name="copy" /> {copied ? 'Copied' : label}
    </button>
  );
}

/** Previous / next buttons over an iterator-paged list. */
export function Pager({
  page,
  pages,
}: {
  page: { iterator: string | null; done: boolean } | undefined;
  pages: { atStart: boolean; next: (iterator: string) => void; previous: () => void };
}) {
  if (!page || (pages.atStart && page.done)) {
    return null;
  }
  const nextIterator = page.iterator;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" className="button button-small" disabled={pages.atStart} onClick={pages.previous}>
        Previous
      </button>
      <button type="button" className="button button-small" disabled={page.done || !nextIterator} onClick={() => nextIterator && pages.next(nextIterator)}>
        Next
      </button>
    </nav>
  );
}

/** Renders a labelled form field with its validation message. */
export function Field({ label, error, hint, children, id }: { label: string; error?: string | undefined; hint?: ReactNode; children: (props: { id: string; 'aria-invalid': boolean; 'aria-describedby': string | undefined }) => ReactNode; id?: string }) {
  const generated = useId();
  const fieldId = id ?? generated;
  const describedBy = [hint ? `${fieldId}-hint` : '', error ? `${fieldId}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className={error ? 'field field-invalid' : 'field'}>
      <label htmlFor={fieldId}>{label}</label>
      {children({ id: fieldId, 'aria-invalid': Boolean(error), 'aria-describedby': describedBy })}
      {hint ? (
        <p className="hint" id={`${fieldId}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={`${fieldId}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) {
    return '—';
  }
  const date = new Date(iso);
  return date.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function formatPercent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(rate === 1 || rate === 0 ? 0 : 1)} %`;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) {
    return '—';
  }
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** Converts a `datetime-local` value to an ISO time, or undefined when empty. */
export function localInputToIso(value: string): string | undefined {
  if (!value) {
    return undefined;
  }
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Formats the time `hoursAgo` hours back as a `datetime-local` value. */
export function localInputHoursAgo(hoursAgo: number): string {
  const date = new Date(Date.now() - hoursAgo * 3_600_000);
  const offset = date.getTimezoneOffset() * 60_000;
  return new Date(date.getTime() - offset).toISOString().slice(0, 16);
}
