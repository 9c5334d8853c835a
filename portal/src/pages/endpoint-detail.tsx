import { useEffect, useState } from 'react';
import { api, appPath, type Attempt, type AttemptBucket, type Endpoint, type EndpointHealth, type EventType, type ListPage, type Message } from '../api';
import { AttemptChart, RangePicker, rangeQuery, type ChartRangeId } from '../chart';
import { isUnavailable, pollInterval, usePages, useResource, useSession } from '../hooks';
import { Link, navigate } from '../router';
import {
  ConfirmDialog,
  CopyButton,
  formatDuration,
  formatTime,
  Icon,
  LoadError,
  Loading,
  localInputHoursAgo,
  localInputToIso,
  Notice,
  PageHeader,
  Pager,
  StatusBadge,
} from '../ui';
import { EndpointStatus, EventTypeChips } from './endpoints';

type AttemptFilter = 'all' | 'success' | 'fail';
const filterStatus: Record<AttemptFilter, number | undefined> = { all: undefined, success: 0, fail: 2 };
const filterLabels: Record<AttemptFilter, string> = { all: 'All', success: 'Succeeded', fail: 'Failed' };

export function EndpointDetailPage({ appId, endpointId }: { appId: string; endpointId: string }) {
  const session = useSession();
  const base = `/app/${encodeURIComponent(appId)}/endpoint/${encodeURIComponent(endpointId)}`;
  const endpoint = useResource((signal) => api<Endpoint>(session, 'GET', base, { signal }), [base]);
  const [dialog, setDialog] = useState<'delete' | 'toggle' | null>(null);
  // The newest attempt on the list's first page; when it changes, the health, the counts and the chart load again.
  const [latestAttempt, setLatestAttempt] = useState<string>();
  const health = useResource((signal) => api<EndpointHealth>(session, 'GET', `${base}/health`, { signal }), [base], {
    poll: pollInterval * 3,
    refreshKey: latestAttempt,
  });

  if (endpoint.loading && !endpoint.data) {
    return <Loading what="endpoint" />;
  }
  if (!endpoint.data) {
    return (
      <section className="page">
        <LoadError error={endpoint.error} what="Endpoint" />
      </section>
    );
  }
  const current = endpoint.data;
  const setDisabled = async (disabled: boolean) => {
    await api(session, 'PATCH', base, { body: { disabled } });
    endpoint.reload();
    health.reload();
  };

  return (
    <section className="page">
      <PageHeader
        title={<span className="break">{current.url}</span>}
        subtitle={current.description || undefined}
        actions={
          <>
            <Link to={`${appPath(appId)}/endpoints`} className="button">
              <Icon name="back" /> All endpoints
            </Link>
            <Link to={`${appPath(appId)}/endpoints/${endpointId}/edit`} className="button">
              Edit
            </Link>
            <button type="button" className="button" onClick={() => setDialog('toggle')}>
              {current.disabled ? 'Enable' : 'Disable'}
            </button>
            <button type="button" className="button button-danger" onClick={() => setDialog('delete')}>
              Delete
            </button>
          </>
        }
      />
      <div className="summary">
        <EndpointStatus endpoint={current} health={health.data} />
        <EventTypeChips eventTypes={current.eventTypes} />
        {current.channels ? <span className="muted small">Channels: {current.channels.join(', ')}</span> : null}
        {current.throttleRate ? <span className="muted small">Rate limit: {current.throttleRate}/s</span> : null}
        <span className="muted small">
          Id <code>{current.id}</code>
        </span>
      </div>
      <HealthPanel health={health.data} error={health.error} />
      <div className="grid-2">
        <StatsPanel appId={appId} endpointId={current.id} statsPath={`${base}/stats`} latestAttempt={latestAttempt} />
        <div className="stack">
          <SecretPanel base={base} />
          <TestEventPanel base={base} appId={appId} endpoint={current} />
          <RecoverPanel base={base} />
        </div>
      </div>
      <AttemptsPanel appId={appId} endpointId={current.id} onLatest={setLatestAttempt} />
      {dialog === 'delete' ? (
        <ConfirmDialog
          title="Delete this endpoint?"
          confirmLabel="Delete endpoint"
          danger
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            await api(session, 'DELETE', base);
            navigate(`${appPath(appId)}/endpoints`);
          }}
        >
          <p>
            <strong className="break">{current.url}</strong> will stop receiving webhooks at once, and its attempts will no longer be listed. This cannot be undone.
          </p>
        </ConfirmDialog>
      ) : null}
      {dialog === 'toggle' ? (
        <ConfirmDialog
          title={current.disabled ? 'Enable this endpoint?' : 'Disable this endpoint?'}
          confirmLabel={current.disabled ? 'Enable' : 'Disable'}
          danger={!current.disabled}
          onClose={() => setDialog(null)}
          onConfirm={() => setDisabled(!current.disabled)}
        >
          <p>
            {current.disabled
              ? 'New messages will be sent to this endpoint again.'
              : 'New messages will not be sent to this endpoint until you enable it again. Use recover to send what it missed.'}
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}

function HealthPanel({ health, error }: { health: EndpointHealth | undefined; error: unknown }) {
  if (isUnavailable(error)) {
    return <p className="unavailable">Endpoint health is not available on this server.</p>;
  }
  if (!health || (health.breaker === 'closed' && health.consecutiveFailures === 0 && !health.throttledUntil)) {
    return null;
  }
  return (
    <Notice tone={health.breaker === 'closed' ? 'info' : 'error'}>
      {health.breaker === 'open'
        ? `The circuit breaker is open after ${health.consecutiveFailures} failures in a row: deliveries wait${health.openUntil ? ` until ${formatTime(health.openUntil)}` : ''}, when one probe is tried.`
        : health.breaker === 'half-open'
          ? 'The circuit breaker is probing: the next delivery decides whether the endpoint is healthy again.'
          : `${health.consecutiveFailures} failures in a row${health.failingSince ? ` since ${formatTime(health.failingSince)}` : ''}.`}
      {health.throttledUntil ? ` The endpoint asked Hookline to slow down until ${formatTime(health.throttledUntil)}.` : ''}
    </Notice>
  );
}

function StatsPanel({ appId, endpointId, statsPath, latestAttempt }: { appId: string; endpointId: string; statsPath: string; latestAttempt: string | undefined }) {
  const session = useSession();
  const [range, setRange] = useState<ChartRangeId>('24h');
  const series = useResource(
    (signal) =>
      api<{ granularity: string; data: AttemptBucket[] }>(session, 'GET', `/app/${encodeURIComponent(appId)}/stats/attempts`, {
        query: { ...rangeQuery(range), endpoint_id: endpointId },
        signal,
      }),
    [appId, endpointId, range],
    { poll: pollInterval * 6, refreshKey: latestAttempt },
  );
  const counts = useResource(
    (signal) => api<{ success: number; pending: number; fail: number; sending: number }>(session, 'GET', statsPath, { signal }),
    [statsPath],
    { poll: pollInterval * 6, refreshKey: latestAttempt },
  );
  return (
    <div className="card">
      <div className="card-header">
        <h2>Deliveries</h2>
        <RangePicker id="endpoint-range" value={range} onChange={setRange} />
      </div>
      {counts.data ? (
        <dl className="tiles" aria-label="Deliveries of all time">
          <div>
            <dt>Succeeded</dt>
            <dd className="ok">{counts.data.success}</dd>
          </div>
          <div>
            <dt>Failed</dt>
            <dd className="bad">{counts.data.fail}</dd>
          </div>
          <div>
            <dt>Pending</dt>
            <dd>{counts.data.pending + counts.data.sending}</dd>
          </div>
        </dl>
      ) : (
        <LoadError error={counts.error} what="Delivery counts" />
      )}
      {series.data ? <AttemptChart buckets={series.data.data} granularity={series.data.granularity} title="Attempts to this endpoint" /> : <LoadError error={series.error} what="The attempts chart" />}
    </div>
  );
}

function SecretPanel({ base }: { base: string }) {
  const session = useSession();
  const [secret, setSecret] = useState<string>();
  const [error, setError] = useState<string>();
  const [rotating, setRotating] = useState(false);
  const [rotated, setRotated] = useState(false);
  const reveal = async () => {
    setError(undefined);
    try {
      setSecret((await api<{ key: string }>(session, 'GET', `${base}/secret`)).key);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    }
  };
  return (
    <div className="card">
      <h2>Signing secret</h2>
      <p className="hint">Use it to check the webhook-signature header of every request, so you know it came from us.</p>
      <div className="secret">
        <code aria-label={secret ? 'Signing secret' : 'Signing secret, hidden'} className="secret-value">
          {secret ?? '••••••••••••••••••••••••••••••••'}
        </code>
        {secret ? (
          <>
            <CopyButton text={secret} />
            <button type="button" className="button button-small" onClick={() => setSecret(undefined)}>
              Hide
            </button>
          </>
        ) : (
          <button type="button" className="button button-small" onClick={() => void reveal()}>
            <Icon name="eye" /> Reveal
          </button>
        )}
        <button type="button" className="button button-small" onClick={() => setRotating(true)}>
          Rotate
        </button>
      </div>
      {rotated ? <Notice tone="ok">Secret rotated. The previous secret keeps signing beside the new one for 24 hours.</Notice> : null}
      {error ? <Notice tone="error">{error}</Notice> : null}
      {rotating ? (
        <ConfirmDialog
          title="Rotate the signing secret?"
          confirmLabel="Rotate secret"
          onClose={() => setRotating(false)}
          onConfirm={async () => {
            await api(session, 'POST', `${base}/secret/rotate`, { body: {} });
            setRotated(true);
            if (secret) {
              await reveal();
            }
          }}
        >
          <p>A new secret is made at once. For the next 24 hours every webhook is signed with both the new and the old secret, so your server keeps verifying while you deploy the new one.</p>
          <p>After 24 hours only the new secret signs.</p>
        </ConfirmDialog>
      ) : null}
    </div>
  );
}

function TestEventPanel({ base, appId, endpoint }: { base: string; appId: string; endpoint: Endpoint }) {
  const session = useSession();
  const catalog = useResource((signal) => api<ListPage<EventType>>(session, 'GET', '/event-type', { query: { limit: 250 }, signal }), []);
  const choices = (catalog.data?.data ?? []).filter((eventType) => !eventType.archived && (!endpoint.eventTypes || endpoint.eventTypes.includes(eventType.name)));
  const [chosen, setChosen] = useState('');
  const [sent, setSent] = useState<Message>();
  const [error, setError] = useState<string>();
  const eventType = chosen || choices[0]?.name || '';
  const example = useResource(
    async (signal) => (eventType ? api<{ payload: unknown }>(session, 'GET', `/event-type/${encodeURIComponent(eventType)}/example`, { signal }) : undefined),
    [eventType],
  );
  const send = async () => {
    setError(undefined);
    setSent(undefined);
    try {
      setSent(await api<Message>(session, 'POST', `${base}/send-example`, { body: { eventType } }));
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    }
  };
  return (
    <div className="card">
      <h2>Send a test event</h2>
      <p className="hint">Sends the event type's example payload to this endpoint only.</p>
      {choices.length === 0 && catalog.data ? <p className="muted">The catalog has no event type this endpoint subscribes to.</p> : null}
      <div className="inline-form">
        <label htmlFor="test-event-type">Event type</label>
        <select id="test-event-type" value={eventType} onChange={(event) => setChosen(event.target.value)}>
          {choices.map((entry) => (
            <option key={entry.name} value={entry.name}>
              {entry.name}
            </option>
          ))}
        </select>
        <button type="button" className="button button-primary button-small" disabled={!eventType} onClick={() => void send()}>
          Send test event
        </button>
      </div>
      {example.data ? (
        <details>
          <summary>Payload</summary>
          <pre className="code">{JSON.stringify(example.data.payload, null, 2)}</pre>
        </details>
      ) : null}
      {sent ? (
        <Notice tone="ok">
          Test event sent as <Link to={`${appPath(appId)}/logs/${sent.id}`}>{sent.id}</Link>.
        </Notice>
      ) : null}
      {error ? <Notice tone="error">{error}</Notice> : null}
    </div>
  );
}

function RecoverPanel({ base }: { base: string }) {
  const session = useSession();
  const [since, setSince] = useState(() => localInputHoursAgo(24));
  const [result, setResult] = useState<string>();
  const [error, setError] = useState<string>();
  const recover = async () => {
    setError(undefined);
    setResult(undefined);
    const iso = localInputToIso(since);
    if (!iso) {
      setError('Choose a date and time.');
      return;
    }
    try {
      await api(session, 'POST', `${base}/recover`, { body: { since: iso } });
      setResult(`Every failed message since ${formatTime(iso)} is being sent again.`);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    }
  };
  return (
    <div className="card">
      <h2>Recover failed messages</h2>
      <p className="hint">Sends again every message that failed to reach this endpoint since the chosen time. Messages that succeeded are not sent twice.</p>
      <div className="inline-form">
        <label htmlFor="recover-since">Since</label>
        <input id="recover-since" type="datetime-local" value={since} onChange={(event) => setSince(event.target.value)} />
        <button type="button" className="button button-small" onClick={() => void recover()}>
          Recover
        </button>
      </div>
      {result ? <Notice tone="ok">{result}</Notice> : null}
      {error ? <Notice tone="error">{error}</Notice> : null}
    </div>
  );
}

function AttemptsPanel({ appId, endpointId, onLatest }: { appId: string; endpointId: string; onLatest: (attemptId: string | undefined) => void }) {
  const session = useSession();
  const [filter, setFilter] = useState<AttemptFilter>('all');
  const pages = usePages();
  const iterator = pages.iterator;
  const attempts = useResource(
    (signal) =>
      api<ListPage<Attempt>>(session, 'GET', `/app/${encodeURIComponent(appId)}/attempt/endpoint/${encodeURIComponent(endpointId)}`, {
        query: { limit: 20, iterator, status: filterStatus[filter] },
        signal,
      }),
    [appId, endpointId, filter, iterator],
    { poll: iterator === undefined ? pollInterval : undefined },
  );
  const newest = pages.atStart ? attempts.data?.data[0]?.id : undefined;
  useEffect(() => {
    if (newest) {
      onLatest(newest);
    }
  }, [newest, onLatest]);
  const choose = (next: AttemptFilter) => {
    setFilter(next);
    pages.reset();
  };
  return (
    <div className="card">
      <div className="card-header">
        <h2 id="attempts-title">Message attempts</h2>
        <div className="segmented" role="group" aria-label="Show attempts">
          {(['all', 'success', 'fail'] as const).map((value) => (
            <button key={value} type="button" className={filter === value ? 'segment current' : 'segment'} aria-pressed={filter === value} onClick={() => choose(value)}>
              {filterLabels[value]}
            </button>
          ))}
        </div>
      </div>
      <LoadError error={attempts.error} what="Attempts" />
      {attempts.data && attempts.data.data.length === 0 ? <p className="muted">No attempt {filter === 'all' ? 'yet' : 'matches this filter'}.</p> : null}
      {attempts.data && attempts.data.data.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-labelledby="attempts-title">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Message</th>
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
                    <StatusBadge status={attempt.statusText} />
                  </td>
                  <td>
                    <Link to={`${appPath(appId)}/endpoints/${endpointId}/attempts/${attempt.msgId}/${attempt.id}`} className="mono">
                      {attempt.msgId}
                    </Link>
                    {attempt.triggerType === 1 ? <span className="muted small"> manual</span> : null}
                  </td>
                  <td>{attempt.responseStatusCode > 0 ? `HTTP ${attempt.responseStatusCode}` : 'No response'}</td>
                  <td className="numeric">{formatDuration(attempt.responseDurationMs)}</td>
                  <td>{formatTime(attempt.timestamp)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Pager page={attempts.data} pages={pages} />
    </div>
  );
}
