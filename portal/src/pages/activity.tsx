import { useState } from 'react';
import { api, appPath, type AttemptBucket, type EndpointStatsRow } from '../api';
import { AttemptChart, RangePicker, rangeQuery, type ChartRangeId } from '../chart';
import { pollInterval, useResource, useSession } from '../hooks';
import { Link } from '../router';
import { formatDuration, formatPercent, LoadError, PageHeader } from '../ui';

function EndpointTable({ title, rows, appId, metric }: { title: string; rows: EndpointStatsRow[]; appId: string | undefined; metric: 'fail' | 'slow' }) {
  const id = `${metric}-title`;
  return (
    <div className="card">
      <h2 id={id}>{title}</h2>
      {rows.length === 0 ? <p className="muted">No attempt in this range.</p> : null}
      {rows.length > 0 ? (
        <div className="table-wrap">
          <table className="table" aria-labelledby={id}>
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col" className="numeric">
                  {metric === 'fail' ? 'Failed' : 'p95'}
                </th>
                <th scope="col" className="numeric">
                  {metric === 'fail' ? 'Success rate' : 'p50'}
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={row.endpointId}>
                  <td className="break">
                    <Link to={`${appPath(appId ?? row.appId)}/endpoints/${row.endpointId}`}>{row.url}</Link>
                  </td>
                  <td className="numeric">{metric === 'fail' ? row.fail : formatDuration(row.p95Ms)}</td>
                  <td className="numeric">{metric === 'fail' ? formatPercent(row.successRate) : formatDuration(row.p50Ms)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}

/** Renders attempts over time by outcome with the most failing and the slowest endpoints, of all applications when `appId` is undefined. */
export function ActivityPage({ appId }: { appId?: string }) {
  const session = useSession();
  const [range, setRange] = useState<ChartRangeId>('24h');
  const prefix = appId ? `/app/${encodeURIComponent(appId)}` : '';
  const series = useResource(
    (signal) => api<{ granularity: string; data: AttemptBucket[] }>(session, 'GET', `${prefix}/stats/attempts`, { query: rangeQuery(range), signal }),
    [prefix, range],
    { poll: pollInterval * 6 },
  );
  const endpoints = useResource(
    (signal) => {
      const { since, until } = rangeQuery(range);
      return api<{ data: EndpointStatsRow[] }>(session, 'GET', `${prefix}/stats/endpoints`, { query: { since, until }, signal });
    },
    [prefix, range],
    { poll: pollInterval * 6 },
  );
  const rows = endpoints.data?.data ?? [];
  const failing = rows.filter((row) => row.fail > 0).slice(0, 5);
  const slowest = rows
    .filter((row) => row.p95Ms !== null)
    .sort((a, b) => (b.p95Ms ?? 0) - (a.p95Ms ?? 0))
    .slice(0, 5);

  return (
    <section className="page">
      <PageHeader
        title="Activity"
        subtitle={appId ? 'Delivery attempts of this application.' : 'Delivery attempts of every application.'}
        actions={<RangePicker id="activity-range" value={range} onChange={setRange} />}
      />
      <div className="card">
        <h2>Attempts by outcome</h2>
        {series.data ? <AttemptChart buckets={series.data.data} granularity={series.data.granularity} title="Attempts over time" /> : <LoadError error={series.error} what="The attempts chart" />}
      </div>
      {endpoints.data ? (
        <div className="grid-2">
          <EndpointTable title="Most failing endpoints" rows={failing} appId={appId} metric="fail" />
          <EndpointTable title="Slowest endpoints" rows={slowest} appId={appId} metric="slow" />
        </div>
      ) : (
        <LoadError error={endpoints.error} what="Endpoint statistics" />
      )}
    </section>
  );
}
