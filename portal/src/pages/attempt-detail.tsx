import { useState } from 'react';
import { api, appPath, type Attempt, type ListPage } from '../api';
import { pollInterval, useResource, useSession } from '../hooks';
import { Link } from '../router';
import { formatDuration, formatTime, Icon, LoadError, Loading, Notice, PageHeader, prettyJson, StatusBadge } from '../ui';

export function AttemptDetailPage({ appId, endpointId, msgId, attemptId }: { appId: string; endpointId: string; msgId: string; attemptId: string }) {
  const session = useSession();
  const app = `/app/${encodeURIComponent(appId)}`;
  const attempt = useResource((signal) => api<Attempt>(session, 'GET', `${app}/msg/${msgId}/attempt/${attemptId}`, { signal }), [app, msgId, attemptId]);
  const request = useResource(
    (signal) => api<{ headers: Record<string, string>; body: string }>(session, 'GET', `${app}/msg/${msgId}/attempt/${attemptId}/request`, { signal }),
    [app, msgId, attemptId],
  );
  const history = useResource(
    (signal) => api<ListPage<Attempt>>(session, 'GET', `${app}/attempt/msg/${msgId}`, { query: { endpoint_id: endpointId, limit: 20 }, signal }),
    [app, msgId, endpointId],
    { poll: pollInterval },
  );
  const [resent, setResent] = useState(false);
  const [error, setError] = useState<string>();

  const resend = async () => {
    setError(undefined);
    try {
      await api(session, 'POST', `${app}/msg/${msgId}/endpoint/${endpointId}/resend`);
      setResent(true);
      history.reload();
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : String(caught));
    }
  };

  if (attempt.loading && !attempt.data) {
    return <Loading what="attempt" />;
  }
  const current = attempt.data;
  return (
    <section className="page">
      <PageHeader
        title="Attempt"
        subtitle={<span className="mono">{attemptId}</span>}
        actions={
          <>
            <Link to={`${appPath(appId)}/endpoints/${endpointId}`} className="button">
              <Icon name="back" /> Endpoint
            </Link>
            <button type="button" className="button button-primary" onClick={() => void resend()}>
              Resend message
            </button>
          </>
        }
      />
      <LoadError error={attempt.error} what="Attempt" />
      {resent ? <Notice tone="ok">The message is being sent again; the new attempt appears below.</Notice> : null}
      {error ? <Notice tone="error">{error}</Notice> : null}
      {current ? (
        <div className="grid-2">
          <div className="card">
            <h2>Request</h2>
            <dl className="facts">
              <dt>URL</dt>
              <dd className="break">
                POST <span className="mono">{current.url}</span>
              </dd>
              <dt>Message</dt>
              <dd>
                <Link to={`${appPath(appId)}/logs/${msgId}`} className="mono">
                  {msgId}
                </Link>
              </dd>
              <dt>Time</dt>
              <dd>{formatTime(current.timestamp)}</dd>
              <dt>Trigger</dt>
              <dd>{current.triggerType === 1 ? 'Manual (resend or recover)' : 'Scheduled'}</dd>
            </dl>
            <h3>Headers</h3>
            {request.data ? (
              <table className="table compact" aria-label="Request headers">
                <tbody>
                  {Object.entries(request.data.headers).map(([name, value]) => (
                    <tr key={name}>
                      <th scope="row" className="mono">
                        {name}
                      </th>
                      <td className="mono break">{value}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <LoadError error={request.error} what="The request" />
            )}
            <h3>Body</h3>
            {request.data ? <pre className="code" tabIndex={0} aria-label="Request body">{prettyJson(request.data.body)}</pre> : null}
          </div>
          <div className="card">
            <h2>Response</h2>
            <dl className="facts">
              <dt>Outcome</dt>
              <dd>
                <StatusBadge status={current.statusText} />
              </dd>
              <dt>Status</dt>
              <dd>{current.responseStatusCode > 0 ? `HTTP ${current.responseStatusCode}` : 'No response'}</dd>
              <dt>Duration</dt>
              <dd>{formatDuration(current.responseDurationMs)}</dd>
            </dl>
            <h3>Body</h3>
            <pre className="code" tabIndex={0} aria-label="Response body">{current.response ? prettyJson(current.response) : '(empty)'}</pre>
          </div>
        </div>
      ) : null}
      <div className="card">
        <h2 id="history-title">Attempts of this message to this endpoint</h2>
        <LoadError error={history.error} what="Attempts" />
        {history.data ? (
          <div className="table-wrap">
            <table className="table" aria-labelledby="history-title">
              <thead>
                <tr>
                  <th scope="col">Status</th>
                  <th scope="col">Response</th>
                  <th scope="col">Time</th>
                  <th scope="col">Attempt</th>
                </tr>
              </thead>
              <tbody>
                {history.data.data.map((entry) => (
                  <tr key={entry.id} aria-current={entry.id === attemptId ? 'true' : undefined}>
                    <td>
                      <StatusBadge status={entry.statusText} />
                    </td>
                    <td>{entry.responseStatusCode > 0 ? `HTTP ${entry.responseStatusCode}` : 'No response'}</td>
                    <td>{formatTime(entry.timestamp)}</td>
                    <td>
                      <Link to={`${appPath(appId)}/endpoints/${endpointId}/attempts/${msgId}/${entry.id}`} className="mono">
                        {entry.id === attemptId ? 'This attempt' : entry.id}
                      </Link>
                    </td>
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
