import { api, appPath, type Endpoint, type EndpointHealth, type EndpointStatsRow, type ListPage, type OpenBreaker, type Session } from '../api';
import { isUnavailable, pollInterval, usePages, useResource, useSession } from '../hooks';
import { Link } from '../router';
import { Badge, formatPercent, Icon, LoadError, Loading, PageHeader, Pager } from '../ui';

type Health = Pick<EndpointHealth, 'breaker'> | undefined;

/** Breaker states of the listed endpoints: one call for the operator, one per row for an application. */
async function loadBreakers(session: Session, appId: string, endpoints: Endpoint[], signal: AbortSignal): Promise<Map<string, Health> | 'unavailable'> {
  const states = new Map<string, Health>();
  if (session.kind === 'admin') {
    try {
      const open = await api<{ data: OpenBreaker[] }>(session, 'GET', '/breakers', { signal });
      for (const breaker of open.data) {
        const halfOpen = breaker.openUntil !== null && Date.parse(breaker.openUntil) <= Date.now();
        states.set(breaker.endpointId, { breaker: halfOpen ? 'half-open' : 'open' });
      }
      return states;
    } catch (error) {
      if (isUnavailable(error)) {
        return 'unavailable';
      }
      throw error;
    }
  }
  const first = endpoints[0];
  if (!first) {
    return states;
  }
  try {
    states.set(first.id, await api<EndpointHealth>(session, 'GET', `/app/${encodeURIComponent(appId)}/endpoint/${first.id}/health`, { signal }));
  } catch (error) {
    if (isUnavailable(error)) {
      return 'unavailable';
    }
    throw error;
  }
  const rest = await Promise.all(
    endpoints.slice(1).map((endpoint) =>
      api<EndpointHealth>(session, 'GET', `/app/${encodeURIComponent(appId)}/endpoint/${endpoint.id}/health`, { signal }).catch(() => undefined),
    ),
  );
  endpoints.slice(1).forEach((endpoint, index) => states.set(endpoint.id, rest[index]));
  return states;
}

export function EndpointStatus({ endpoint, health }: { endpoint: Endpoint; health: Health }) {
  if (endpoint.disabled) {
    return <Badge tone="muted">Disabled</Badge>;
  }
  if (health?.breaker === 'open') {
    return <Badge tone="bad">Breaker open</Badge>;
  }
  if (health?.breaker === 'half-open') {
    return <Badge tone="warn">Breaker probing</Badge>;
  }
  return <Badge tone="ok">Enabled</Badge>;
}

export function EventTypeChips({ eventTypes }: { eventTypes: string[] | null }) {
  if (!eventTypes || eventTypes.length === 0) {
    return <span className="muted">All events</span>;
  }
  const shown = eventTypes.slice(0, 3);
  return (
    <span className="chips">
      {shown.map((name) => (
        <code key={name} className="chip">
          {name}
        </code>
      ))}
      {eventTypes.length > shown.length ? <span className="muted">+{eventTypes.length - shown.length} more</span> : null}
    </span>
  );
}

export function EndpointsPage({ appId }: { appId: string }) {
  const session = useSession();
  const pages = usePages();
  const iterator = pages.iterator;
  const base = `/app/${encodeURIComponent(appId)}`;

  const endpoints = useResource(
    (signal) => api<ListPage<Endpoint>>(session, 'GET', `${base}/endpoint`, { query: { limit: 50, iterator }, signal }),
    [appId, iterator],
    { poll: pollInterval * 2 },
  );
  const stats = useResource(
    (signal) =>
      api<{ data: EndpointStatsRow[] }>(session, 'GET', `${base}/stats/endpoints`, {
        query: { since: new Date(Date.now() - 24 * 3_600_000).toISOString(), until: new Date().toISOString() },
        signal,
      }),
    [appId],
    { poll: pollInterval * 6 },
  );
  const rows = endpoints.data?.data ?? [];
  // A breaker opens only after failed attempts, and a probe records an attempt too, so with
  // statistics at hand only endpoints that failed in the last 24 hours are asked for their health.
  const failing = stats.data ? new Set(stats.data.data.filter((row) => row.fail > 0).map((row) => row.endpointId)) : undefined;
  const checked = stats.loading && !stats.data ? [] : rows.filter((endpoint) => !endpoint.disabled && (!failing || failing.has(endpoint.id)));
  const ids = checked.map((endpoint) => endpoint.id).join(',');
  const breakers = useResource((signal) => loadBreakers(session, appId, checked, signal), [appId, ids], { poll: pollInterval * 6 });

  const rates = new Map((stats.data?.data ?? []).map((row) => [row.endpointId, row]));
  const breakerStates = breakers.data instanceof Map ? breakers.data : new Map<string, Health>();

  return (
    <section className="page">
      <PageHeader
        title="Endpoints"
        subtitle="The URLs that receive this application's webhooks."
        actions={
          <Link to={`${appPath(appId)}/endpoints/new`} className="button button-primary">
            <Icon name="plus" /> Add endpoint
          </Link>
        }
      />
      <LoadError error={endpoints.error} what="Endpoints" />
      {endpoints.loading && !endpoints.data ? <Loading what="endpoints" /> : null}
      {endpoints.data && rows.length === 0 ? (
        <div className="empty card">
          <h2>No endpoints yet</h2>
          <p>Add the URL of a server of yours, and every event you subscribe to will be sent there as a signed HTTP POST.</p>
          <Link to={`${appPath(appId)}/endpoints/new`} className="button button-primary">
            <Icon name="plus" /> Add endpoint
          </Link>
        </div>
      ) : null}
      {rows.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-label="Endpoints">
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col" className="hide-phone">
                  Events
                </th>
                <th scope="col">Status</th>
                <th scope="col" className="numeric">
                  Success (24 h)
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((endpoint) => {
                const rate = rates.get(endpoint.id);
                return (
                  <tr key={endpoint.id}>
                    <td>
                      <Link to={`${appPath(appId)}/endpoints/${endpoint.id}`} className="strong-link">
                        {endpoint.url}
                      </Link>
                      {endpoint.description ? <div className="muted small">{endpoint.description}</div> : null}
                    </td>
                    <td className="hide-phone">
                      <EventTypeChips eventTypes={endpoint.eventTypes} />
                    </td>
                    <td>
                      <EndpointStatus endpoint={endpoint} health={breakerStates.get(endpoint.id)} />
                    </td>
                    <td className="numeric">
                      {rate ? formatPercent(rate.successRate) : '—'}
                      {rate ? <div className="muted small">{rate.success + rate.fail} attempts</div> : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      <Pager page={endpoints.data} pages={pages} />
      {isUnavailable(stats.error) ? <p className="unavailable">Success rates are not available on this server.</p> : null}
      {breakers.data === 'unavailable' ? <p className="unavailable">Circuit breaker states are not available on this server.</p> : null}
    </section>
  );
}
