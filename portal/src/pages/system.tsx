import { api, appPath, type OpenBreaker, type SystemOverview } from '../api';
import { pollInterval, useResource, useSession } from '../hooks';
import { Link } from '../router';
import { formatDuration, formatTime, LoadError, PageHeader } from '../ui';
import { ActivityPage } from './activity';

export function SystemPage() {
  const session = useSession();
  const overview = useResource((signal) => api<SystemOverview>(session, 'GET', '/system/overview', { signal }), [], { poll: pollInterval });
  const breakers = useResource((signal) => api<{ data: OpenBreaker[] }>(session, 'GET', '/breakers', { signal }), [], { poll: pollInterval * 2 });
  const data = overview.data;
  return (
    <>
      <section className="page">
        <PageHeader title="System" subtitle={data ? `Hookline ${data.version}, ${data.mode} mode` : 'Queues, breakers and throughput of this Hookline.'} />
        {data ? (
          <>
            <dl className="tiles card">
              <div>
                <dt>Messages accepted, last minute</dt>
                <dd>{data.throughput.acceptedLastMinute}</dd>
              </div>
              <div>
                <dt>Attempts, last minute</dt>
                <dd>{data.throughput.attemptsLastMinute}</dd>
              </div>
              <div>
                <dt>Open breakers</dt>
                <dd className={data.openBreakers > 0 ? 'bad' : undefined}>{data.openBreakers}</dd>
              </div>
              <div>
                <dt>Disabled endpoints</dt>
                <dd>{data.disabledEndpoints}</dd>
              </div>
              <div>
                <dt>Outbox backlog</dt>
                <dd>{data.outboxBacklog}</dd>
              </div>
            </dl>
            <div className="card">
              <h2 id="queues-title">Queues</h2>
              <div className="table-wrap">
                <table className="table" aria-labelledby="queues-title">
                  <thead>
                    <tr>
                      <th scope="col">Queue</th>
                      <th scope="col" className="numeric">
                        Waiting
                      </th>
                      <th scope="col" className="numeric">
                        Delayed
                      </th>
                      <th scope="col" className="numeric">
                        Active
                      </th>
                      <th scope="col" className="numeric">
                        Oldest waiting
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.queues.map((queue) => (
                      <tr key={queue.name}>
                        <td className="mono">{queue.name}</td>
                        <td className="numeric">{queue.waiting}</td>
                        <td className="numeric">{queue.delayed}</td>
                        <td className="numeric">{queue.active}</td>
                        <td className="numeric">{formatDuration(queue.oldestAgeMs)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </div>
          </>
        ) : (
          <LoadError error={overview.error} what="The system overview" />
        )}
        <div className="card">
          <h2 id="breakers-title">Open circuit breakers</h2>
          {breakers.data && breakers.data.data.length === 0 ? <p className="muted">Every endpoint's breaker is closed.</p> : null}
          {breakers.data && breakers.data.data.length > 0 ? (
            <div className="table-wrap">
              <table className="table" aria-labelledby="breakers-title">
                <thead>
                  <tr>
                    <th scope="col">Endpoint</th>
                    <th scope="col" className="numeric">
                      Failures in a row
                    </th>
                    <th scope="col">Open until</th>
                  </tr>
                </thead>
                <tbody>
                  {breakers.data.data.map((breaker) => (
                    <tr key={breaker.endpointId}>
                      <td className="break">
                        <Link to={`${appPath(breaker.appId)}/endpoints/${breaker.endpointId}`}>{breaker.url}</Link>
                      </td>
                      <td className="numeric">{breaker.consecutiveFailures}</td>
                      <td>{formatTime(breaker.openUntil)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <LoadError error={breakers.error} what="The list of open breakers" />
          )}
        </div>
      </section>
      <ActivityPage />
    </>
  );
}
