import { useEffect, useRef, useState } from 'react';
import type { AttemptBucket } from './api';

const defaultWidth = 640;
const height = 180;
const margin = { top: 10, right: 8, bottom: 24, left: 36 };

function niceMax(value: number): number {
  if (value <= 4) {
    return 4;
  }
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((factor) => factor * magnitude >= value / 4) ?? 10;
  return Math.ceil(value / (step * magnitude)) * step * magnitude;
}

function bucketLabel(iso: string, granularity: string): string {
  const date = new Date(iso);
  if (granularity === 'day') {
    return date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  }
  return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** Stacked bars of succeeded and failed attempts per time bucket, drawn as SVG. */
export function AttemptChart({ buckets, granularity, title }: { buckets: AttemptBucket[]; granularity: string; title: string }) {
  // The drawing takes the figure's real width, so that text keeps its size at any width.
  const figure = useRef<HTMLElement>(null);
  const [width, setWidth] = useState(defaultWidth);
  useEffect(() => {
    const element = figure.current;
    if (!element) {
      return undefined;
    }
    const observer = new ResizeObserver((entries) => {
      const measured = Math.round(entries[0]?.contentRect.width ?? defaultWidth);
      if (measured > 0) {
        setWidth(measured);
      }
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  const success = buckets.reduce((sum, bucket) => sum + bucket.success, 0);
  const fail = buckets.reduce((sum, bucket) => sum + bucket.fail, 0);
  const max = niceMax(Math.max(0, ...buckets.map((bucket) => bucket.success + bucket.fail)));
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const slot = buckets.length > 0 ? plotWidth / buckets.length : plotWidth;
  const barWidth = Math.max(1, slot * 0.7);
  const y = (value: number) => margin.top + plotHeight - (value / max) * plotHeight;
  const labelEvery = Math.max(1, Math.ceil(buckets.length / Math.max(2, Math.floor(width / 110))));

  return (
    <figure className="chart" ref={figure}>
      <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-label={`${title}: ${success} succeeded and ${fail} failed attempts`}>
        {[0, 0.25, 0.5, 0.75, 1].map((fraction) => (
          <g key={fraction}>
            <line className="grid" x1={margin.left} x2={width - margin.right} y1={y(max * fraction)} y2={y(max * fraction)} />
            <text className="axis" x={margin.left - 6} y={y(max * fraction) + 4} textAnchor="end">
              {Math.round(max * fraction)}
            </text>
          </g>
        ))}
        {buckets.map((bucket, index) => {
          const x = margin.left + index * slot + (slot - barWidth) / 2;
          return (
            <g key={bucket.start}>
              <rect className="bar-success" x={x} width={barWidth} y={y(bucket.success)} height={y(0) - y(bucket.success)}>
                <title>{`${bucketLabel(bucket.start, granularity)}: ${bucket.success} succeeded, ${bucket.fail} failed`}</title>
              </rect>
              <rect className="bar-fail" x={x} width={barWidth} y={y(bucket.success + bucket.fail)} height={y(bucket.success) - y(bucket.success + bucket.fail)} />
              {index % labelEvery === 0 ? (
                <text className="axis" x={x + barWidth / 2} y={height - 6} textAnchor="middle">
                  {bucketLabel(bucket.start, granularity)}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      <figcaption className="legend">
        <span className="swatch swatch-success" aria-hidden="true" /> Succeeded {success}
        <span className="swatch swatch-fail" aria-hidden="true" /> Failed {fail}
      </figcaption>
    </figure>
  );
}

/** Ranges the charts offer, with the bucket size that suits each. */
export const chartRanges = [
  { id: '1h', label: 'Last hour', hours: 1, granularity: 'minute' },
  { id: '24h', label: 'Last 24 hours', hours: 24, granularity: 'hour' },
  { id: '7d', label: 'Last 7 days', hours: 24 * 7, granularity: 'day' },
  { id: '30d', label: 'Last 30 days', hours: 24 * 30, granularity: 'day' },
] as const;

export type ChartRangeId = (typeof chartRanges)[number]['id'];

export function rangeQuery(id: ChartRangeId): { granularity: string; since: string; until: string } {
  const range = chartRanges.find((entry) => entry.id === id) ?? chartRanges[1];
  const until = new Date();
  return { granularity: range.granularity, since: new Date(until.getTime() - range.hours * 3_600_000).toISOString(), until: until.toISOString() };
}

export function RangePicker({ value, onChange, id }: { value: ChartRangeId; onChange: (value: ChartRangeId) => void; id: string }) {
  return (
    <div className="range-picker">
      <label htmlFor={id}>Range</label>
      <select id={id} value={value} onChange={(event) => onChange(event.target.value as ChartRangeId)}>
        {chartRanges.map((range) => (
          <option key={range.id} value={range.id}>
            {range.label}
          </option>
        ))}
      </select>
    </div>
  );
}
