import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, ApiError, appPath, type Endpoint, type EventType, type ListPage } from '../api';
import { useResource, useSession } from '../hooks';
import { Link, navigate } from '../router';
import { Field, Icon, LoadError, Loading, Notice, PageHeader } from '../ui';

interface HeaderRow {
  key: number;
  name: string;
  value: string;
  /** A stored credential header whose value the API does not show; empty keeps it. */
  sensitive: boolean;
}

let nextRowKey = 1;

/** Searchable checkbox list of the catalog's event types; none chosen means every event. */
export function EventTypePicker({ catalog, selected, onChange, error }: { catalog: EventType[]; selected: string[]; onChange: (next: string[]) => void; error?: string | undefined }) {
  const [search, setSearch] = useState('');
  // Names the endpoint subscribes to but the catalog lacks (archived or never created) stay visible, so they can be removed.
  const missing = selected.filter((name) => !catalog.some((eventType) => eventType.name === name));
  const choices = [...catalog, ...missing.map((name) => ({ name, description: 'not in the catalog' }))];
  const shown = choices.filter((eventType) => `${eventType.name} ${eventType.description}`.toLowerCase().includes(search.trim().toLowerCase()));
  const toggle = (name: string) => onChange(selected.includes(name) ? selected.filter((entry) => entry !== name) : [...selected, name]);
  return (
    <fieldset className={error ? 'field picker field-invalid' : 'field picker'}>
      <legend>Events to send</legend>
      <p className="hint">{selected.length === 0 ? 'No event type chosen: this endpoint receives every event.' : `${selected.length} chosen.`}</p>
      <label htmlFor="event-type-search" className="visually-hidden">
        Search event types
      </label>
      <input id="event-type-search" type="search" placeholder="Search event types" value={search} onChange={(event) => setSearch(event.target.value)} />
      <div className="picker-list" role="group" aria-label="Event types">
        {shown.length === 0 ? <p className="muted small">No event type matches “{search}”.</p> : null}
        {shown.map((eventType) => (
          <label key={eventType.name} className="picker-item">
            <input type="checkbox" checked={selected.includes(eventType.name)} onChange={() => toggle(eventType.name)} />
            <span>
              <code>{eventType.name}</code>
              {eventType.description ? <span className="muted small"> — {eventType.description}</span> : null}
            </span>
          </label>
        ))}
      </div>
      {error ? <p className="field-error">{error}</p> : null}
    </fieldset>
  );
}

export function EndpointFormPage({ appId, endpointId }: { appId: string; endpointId?: string | undefined }) {
  const session = useSession();
  const base = `/app/${encodeURIComponent(appId)}`;
  const editing = endpointId !== undefined;

  const catalog = useResource((signal) => api<ListPage<EventType>>(session, 'GET', '/event-type', { query: { limit: 250 }, signal }), []);
  const existing = useResource(
    async (signal) => {
      if (!endpointId) {
        return undefined;
      }
      const [endpoint, headers] = await Promise.all([
        api<Endpoint>(session, 'GET', `${base}/endpoint/${endpointId}`, { signal }),
        api<{ headers: Record<string, string>; sensitive: string[] }>(session, 'GET', `${base}/endpoint/${endpointId}/headers`, { signal }),
      ]);
      return { endpoint, headers };
    },
    [appId, endpointId],
  );

  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [eventTypes, setEventTypes] = useState<string[]>([]);
  const [channels, setChannels] = useState('');
  const [rateLimit, setRateLimit] = useState('');
  const [headers, setHeaders] = useState<HeaderRow[]>([]);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const loaded = existing.data;
    if (!loaded) {
      return;
    }
    setUrl(loaded.endpoint.url);
    setDescription(loaded.endpoint.description);
    setEventTypes(loaded.endpoint.eventTypes ?? []);
    setChannels((loaded.endpoint.channels ?? []).join(', '));
    setRateLimit(loaded.endpoint.throttleRate === null ? '' : String(loaded.endpoint.throttleRate));
    setHeaders([
      ...Object.entries(loaded.headers.headers).map(([name, value]) => ({ key: nextRowKey++, name, value, sensitive: false })),
      ...loaded.headers.sensitive.map((name) => ({ key: nextRowKey++, name, value: '', sensitive: true })),
    ]);
  }, [existing.data]);

  const activeCatalog = useMemo(() => (catalog.data?.data ?? []).filter((eventType) => !eventType.archived), [catalog.data]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setFields({});
    const channelList = channels
      .split(',')
      .map((entry) => entry.trim())
      .filter(Boolean);
    const rate = rateLimit.trim() === '' ? null : Number(rateLimit);
    const fields = {
      url: url.trim(),
      description,
      eventTypes: eventTypes.length > 0 ? eventTypes : null,
      channels: channelList.length > 0 ? channelList : null,
      throttleRate: rate,
    };
    const namedRows = headers.filter((row) => row.name.trim() !== '');
    try {
      if (!editing) {
        const created = await api<Endpoint>(session, 'POST', `${base}/endpoint`, {
          body: { ...fields, headers: Object.fromEntries(namedRows.map((row) => [row.name.trim(), row.value])) },
        });
        navigate(`${appPath(appId)}/endpoints/${created.id}`);
        return;
      }
      const current = existing.data;
      await api<Endpoint>(session, 'PUT', `${base}/endpoint/${endpointId}`, { body: { ...fields, disabled: current?.endpoint.disabled ?? false } });
      const before = new Set([...Object.keys(current?.headers.headers ?? {}), ...(current?.headers.sensitive ?? [])]);
      const changes: Record<string, string | null> = {};
      for (const row of namedRows) {
        if (!row.sensitive || row.value !== '') {
          changes[row.name.trim()] = row.value;
        }
        before.delete(row.name.trim());
      }
      before.forEach((name) => {
        changes[name] = null;
      });
      if (Object.keys(changes).length > 0) {
        await api(session, 'PATCH', `${base}/endpoint/${endpointId}/headers`, { body: { headers: changes } });
      }
      navigate(`${appPath(appId)}/endpoints/${endpointId}`);
    } catch (caught) {
      if (caught instanceof ApiError && caught.problems.length > 0) {
        setFields(caught.fields);
      } else {
        setError(caught instanceof Error ? caught.message : String(caught));
      }
      setBusy(false);
    }
  };

  // Editing a field clears the API's message about it, so that only current problems stay on screen.
  const edited = (...names: string[]) => {
    setFields((previous) => Object.fromEntries(Object.entries(previous).filter(([key]) => !names.some((name) => key === name || key.startsWith(`${name}.`)))));
  };

  const fieldError = (...names: string[]) => {
    const messages = Object.entries(fields)
      .filter(([key]) => names.some((name) => key === name || key.startsWith(`${name}.`)))
      .map(([, message]) => message);
    return messages.length > 0 ? messages.join(' ') : undefined;
  };
  const knownFields = ['url', 'description', 'eventTypes', 'filterTypes', 'channels', 'throttleRate', 'rateLimit', 'headers'];
  const otherErrors = Object.entries(fields).filter(([key]) => !knownFields.some((name) => key === name || key.startsWith(`${name}.`)));

  if (editing && existing.loading && !existing.data) {
    return <Loading what="endpoint" />;
  }
  return (
    <section className="page">
      <PageHeader
        title={editing ? 'Edit endpoint' : 'Add endpoint'}
        subtitle={editing ? existing.data?.endpoint.url : 'Webhooks are sent to this URL as signed HTTP POST requests.'}
        actions={
          <Link to={editing ? `${appPath(appId)}/endpoints/${endpointId}` : `${appPath(appId)}/endpoints`} className="button">
            <Icon name="back" /> Back
          </Link>
        }
      />
      <LoadError error={existing.error} what="Endpoint" />
      {Object.keys(fields).length > 0 ? <Notice tone="error">Some fields need attention. The message under each one says why.</Notice> : null}
      {error ? <Notice tone="error">{error}</Notice> : null}
      {otherErrors.map(([key, message]) => (
        <Notice key={key} tone="error">
          {key}: {message}
        </Notice>
      ))}
      <form className="card form" onSubmit={(event) => void submit(event)} noValidate>
        <Field label="Endpoint URL" error={fieldError('url')} hint="The address on your server that receives the webhooks, usually https://.">
          {(props) => (
            <input
              {...props}
              type="url"
              inputMode="url"
              placeholder="https://example.com/webhooks"
              value={url}
              onChange={(event) => {
                setUrl(event.target.value);
                edited('url');
              }}
            />
          )}
        </Field>
        <Field label="Description" error={fieldError('description')}>
          {(props) => <input {...props} type="text" value={description} onChange={(event) => {
                setDescription(event.target.value);
                edited('description');
              }} />}
        </Field>
        {catalog.data ? (
          <EventTypePicker catalog={activeCatalog} selected={eventTypes} onChange={(next) => {
              setEventTypes(next);
              edited('eventTypes', 'filterTypes');
            }} error={fieldError('eventTypes', 'filterTypes')} />
        ) : (
          <LoadError error={catalog.error} what="Event catalog" />
        )}
        <div className="form-row">
          <Field label="Channels" error={fieldError('channels')} hint="Comma-separated. Empty receives messages of every channel.">
            {(props) => <input {...props} type="text" value={channels} onChange={(event) => {
                setChannels(event.target.value);
                edited('channels');
              }} />}
          </Field>
          <Field label="Rate limit (messages per second)" error={fieldError('throttleRate', 'rateLimit')} hint="Empty for no limit.">
            {(props) => <input {...props} type="number" min="1" inputMode="numeric" value={rateLimit} onChange={(event) => {
                setRateLimit(event.target.value);
                edited('throttleRate', 'rateLimit');
              }} />}
          </Field>
        </div>
        <fieldset className={fieldError('headers') ? 'field field-invalid' : 'field'}>
          <legend>Custom headers</legend>
          <p className="hint">Sent with every webhook to this endpoint. Stored credential headers are not shown; leave their value empty to keep it.</p>
          {headers.map((row, index) => (
            <div className="header-row" key={row.key}>
              <label className="visually-hidden" htmlFor={`header-name-${row.key}`}>
                Header {index + 1} name
              </label>
              <input
                id={`header-name-${row.key}`}
                type="text"
                placeholder="X-Header-Name"
                value={row.name}
                onChange={(event) => setHeaders(headers.map((entry) => (entry.key === row.key ? { ...entry, name: event.target.value } : entry)))}
              />
              <label className="visually-hidden" htmlFor={`header-value-${row.key}`}>
                Header {index + 1} value
              </label>
              <input
                id={`header-value-${row.key}`}
                type="text"
                placeholder={row.sensitive ? '(unchanged)' : 'value'}
                value={row.value}
                onChange={(event) => setHeaders(headers.map((entry) => (entry.key === row.key ? { ...entry, value: event.target.value } : entry)))}
              />
              <button type="button" className="button button-small" onClick={() => setHeaders(headers.filter((entry) => entry.key !== row.key))}>
                Remove<span className="visually-hidden"> header {index + 1}</span>
              </button>
            </div>
          ))}
          <button type="button" className="button button-small" onClick={() => setHeaders([...headers, { key: nextRowKey++, name: '', value: '', sensitive: false }])}>
            <Icon name="plus" /> Add header
          </button>
          {fieldError('headers') ? <p className="field-error">{fieldError('headers')}</p> : null}
        </fieldset>
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            {editing ? 'Save changes' : 'Create endpoint'}
          </button>
        </div>
      </form>
    </section>
  );
}
