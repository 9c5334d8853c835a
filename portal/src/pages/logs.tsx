import { useState } from 'react';
import { api, appPath, type Attempt, type EventType, type ListPage, type Message, type MessageEndpoint, type MessageLogEntry } from '../api';
import { pollInterval, usePages, useResource, useSession } from '../hooks';
import { Link, setSearch, useLocation } from '../router';
import { formatDuration, formatTime, Icon, LoadError, Loading, localInputToIso, Notice, PageHeader, Pager, StatusBadge } from '../ui';

const statusOptions = [
  { value: '', label: 'Any status' },
  { value: '0', label: 'Succeeded' },
  { value: '2', label: 'Failed' },
  { value: '1', label: 'Pending' },
];

export function LogsPage({ appId }: { appId: string }) {
  const session = useSession();
  const { search } = useLocation();
  const eventType = search.get('event_type') ?? '';
  const status = search.get('status') ?? '';
  const after = search.get('after') ?? '';
  const before = search.get('before') ?? '';
  const pages = usePages();
  const iterator = pages.iterator;
  const catalog = useResource((signal) => api<ListPage<EventType>>(session, 'GET', '/event-type', { query: { limit: 250 }, signal }), []);
  const log = useResource(
    (signal) =>
      api<ListPage<MessageLogEntry>>(session, 'GET', `/app/${encodeURIComponent(appId)}/portal/message-log`, {
        query: { limit: 25, iterator, event_types: eventType ? [eventType] : undefined, status, after: localInputToIso(after), before: localInputToIso(before) },
        signal,
      }),
    [appId, iterator, eventType, status, after, before],
    { poll: iterator === undefined ? pollInterval : undefined },
  );
  const filter = (values: Record<string, string>) => {
    pages.reset();
    setSearch(values);
  };

  return (
    <section className="page">
      <PageHeader title="Logs" subtitle="Every message sent to this application, newest first, with its delivery to each endpoint." />
      <form className="filters" aria-label="Filter messages" onSubmit={(event) => event.preventDefault()}>
        <div className="filter">
          <label htmlFor="log-event-type">Event type</label>
          <select id="log-event-type" value={eventType} onChange={(event) => filter({ event_type: event.target.value })}>
            <option value="">Any event type</option>
            {(catalog.data?.data ?? []).map((entry) => (
              <option key={entry.name} value={entry.name}>
                {entry.name}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor="log-status">Status</label>
          <select id="log-status" value={status} onChange={(event) => filter({ status: event.target.value })}>
            {statusOptions.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor="log-after">From</label>
          <input id="log-after" type="datetime-local" value={after} onChange={(event) => filter({ after: event.target.value })} />
        </div>
        <div className="filter">
          <label htmlFor="log-before">Until</label>
          <input id="log-before" type="datetime-local" value={before} onChange={(event) => filter({ before: event.target.value })} />
        </div>
      </form>
      <LoadError error={log.error} what="Messages" />
      {log.loading && !log.data ? <Loading what="messages" /> : null}
      {log.data && log.data.data.length === 0 ? <p className="muted">No message matches these filters.</p> : null}
      {log.data && log.data.data.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-label="Messages">
            <thead>
              <tr>
                <th scope="col">Message</th>
                <th scope="col">Event type</th>
                <th scope="col">Deliveries</th>
                <th scope="col">Time</th>
              </tr>
            </thead>
            <tbody>
              {log.data.data.map((entry) => (
                <tr key={entry.id}>
                  <td>
                    <Link to={`${appPath(appId)}/logs/${entry.id}`} className="mono">
                      {entry.id}
                    </Link>
                  </td>
                  <td>
                    <code className="chip">{entry.eventType}</code>
                  </td>
                  <td>
                    {entry.deliveries.length === 0 ? <span className="muted">No endpoint subscribed</span> : null}
                    <ul className="delivery-list">
                      {entry.deliveries.map((delivery) => (
                        <li key={delivery.endpointId}>
                          <StatusBadge status={delivery.statusText} /> <span className="muted small break">{delivery.url ?? `${delivery.endpointId} (deleted)`}</span>
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td>{formatTime(entry.timestamp)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Pager page={log.data} pages={pages} />
    </section>
  );
}

export function MessagePage({ appId, msgId }: { appId: string; msgId: string }) {
  const session = useSession();
  const app = `/app/${encodeURIComponent(appId)}`;
  const message = useResource((signal) => api<Message>(session, 'GET', `${app}/msg/${msgId}`, { signal }), [app, msgId]);
  const endpoints = useResource((signal) => api<ListPage<MessageEndpoint>>(session, 'GET', `${app}/msg/${msgId}/endpoint`, { query: { limit: 250 }, signal }), [app, msgId], {
    poll: pollInterval,
  });
  const attempts = useResource((signal) => api<ListPage<Attempt>>(session, 'GET', `${app}/attempt/msg/${msgId}`, { query: { limit: 100 }, signal }), [app, msgId], {
    poll: pollInterval,
  });

  const [notice, setNotice] = useState<{ tone: 'ok' | 'error'; text: string }>();
  const resend = async (endpointId: string) => {
    try {
      await api(session, 'POST', `${app}/msg/${msgId}/endpoint/${endpointId}/resend`);
      setNotice({ tone: 'ok', text: 'The message is being sent again; the new attempt appears below.' });
      attempts.reload();
      endpoints.reload();
    } catch (caught) {
      setNotice({ tone: 'error', text: caught instanceof Error ? caught.message : String(caught) });
    }
  };

  if (message.loading && !message.data) {
    return <Loading what="message" />;
  }
  return (
    <section className="page">
      <PageHeader
        title="Message"
        subtitle={<span className="mono">{msgId}</span>}
        actions={
          <Link to={`${appPath(appId)}/logs`} className="button">
            <Icon name="back" /> Logs
          </Link>
        }
      />
      <LoadError error={message.error} what="Message" />
      {notice ? <Notice tone={notice.tone}>{notice.text}</Notice> : null}
      {message.data ? (
        <div className="grid-2">
          <div className="card">
            <h2>Payload</h2>
            <dl className="facts">
              <dt>Event type</dt>
              <dd>
                <code>{message.data.eventType}</code>
              </dd>
              <dt>Time</dt>
              <dd>{formatTime(message.data.timestamp)}</dd>
              {message.data.eventId ? (
                <>
                  <dt>Event id</dt>
                  <dd className="mono">{message.data.eventId}</dd>
                </>
              ) : null}
              {message.data.channels ? (
                <>
                  <dt>Channels</dt>
                  <dd>{message.data.channels.join(', ')}</dd>
                </>
              ) : null}
            </dl>
            <pre className="code" tabIndex={0} aria-label="Payload">
              {JSON.stringify(message.data.payload, null, 2)}
            </pre>
          </div>
          <div className="card">
            <h2 id="destinations-title">Endpoints</h2>
            <LoadError error={endpoints.error} what="Endpoints" />
            {endpoints.data && endpoints.data.data.length === 0 ? <p className="muted">No endpoint subscribed to this message.</p> : null}
            <ul className="delivery-list" aria-labelledby="destinations-title">
              {(endpoints.data?.data ?? []).map((endpoint) => (
                <li key={endpoint.id}>
                  <StatusBadge status={endpoint.statusText} />{' '}
                  <Link to={`${appPath(appId)}/endpoints/${endpoint.id}`} className="break">
                    {endpoint.url}
                  </Link>
                  {endpoint.nextAttempt ? <span className="muted small"> next attempt {formatTime(endpoint.nextAttempt)}</span> : null}{' '}
                  <button type="button" className="button button-small" onClick={() => void resend(endpoint.id)}>
                    Resend<span className="visually-hidden"> to {endpoint.url}</span>
                  </button>
                </li>
              ))}
            </ul>
          </div>
        </div>
      ) : null}
      <div className="card">
        <h2 id="message-attempts-title">Attempts</h2>
        <LoadError error={attempts.error} what="Attempts" />
        {attempts.data && attempts.data.data.length === 0 ? <p className="muted">No attempt yet.</p> : null}
        {attempts.data && attempts.data.data.length > 0 ? (
          <div className="table-wrap">
            <table className="table" aria-labelledby="message-attempts-title">
              <thead>
                <tr>
                  <th scope="col">Status</th>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Response</th>
                  <th scope="col" className="numeric">
                    Duration
                  </th>
                  <th scope="col">Time</th>
                </tr>
              </thead>
              <tbody>
                {attempts.data.data.map((attempt) => (
                  <tr key={attempt.id}>
                    <td>
                      <Link to={`${appPath(appId)}/endpoints/${attempt.endpointId}/attempts/${msgId}/${attempt.id}`}>
                        <StatusBadge status={attempt.statusText} />
                        <span className="visually-hidden"> attempt {attempt.id}</span>
                      </Link>
                    </td>
                    <td className="break">{attempt.url}</td>
                    <td>{attempt.responseStatusCode > 0 ? `HTTP ${attempt.responseStatusCode}` : 'No response'}</td>
                    <td className="numeric">{formatDuration(attempt.responseDurationMs)}</td>
                    <td>{formatTime(attempt.timestamp)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </div>
    </section>
  );
}
