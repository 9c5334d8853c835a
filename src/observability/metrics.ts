import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AttemptFinishedEvent, AttemptObserver } from './attempt-events.js';

/** Values read from the store and the queues when Prometheus scrapes. */
export interface GaugeSnapshot {
  queues: { name: string; waiting: number; delayed: number; active: number; oldestAgeMs: number | null }[];
  outboxBacklog: number;
  openBreakers: number;
  disabledEndpoints: number;
}

export interface MetricsOptions {
  /** Reads the gauges; a failure leaves them at their last values and is counted. */
  readGauges?: () => Promise<GaugeSnapshot>;
  /** Called with the error when reading the gauges fails. */
  onGaugeError?: (error: unknown) => void;
}

/**
 * Event types that get a label value of their own. Producers name event types freely, so
 * past this many the rest are counted under `other`, which keeps the series count bounded.
 */
export const maxEventTypeLabels = 200;

/** HTTP status class of a response: `2xx` … `5xx`, or `none` when no response arrived. */
export function statusClass(statusCode: number): string {
  return statusCode >= 100 && statusCode < 600 ? `${Math.floor(statusCode / 100)}xx` : 'none';
}

/**
 * Prometheus metrics of one process, in a registry of their own. Labels carry only bounded
 * values (outcome, status class, queue, route template, method), never an id.
 */
export class HooklineMetrics implements AttemptObserver {
  readonly registry = new Registry();
  private readonly eventTypes = new Set<string>();

  readonly messagesAccepted = new Counter({
    name: 'hookline_messages_accepted_total',
    help: 'Messages stored by the API, by event type (event types past the first 200 count as "other").',
    labelNames: ['event_type'] as const,
    registers: [this.registry],
  });
  readonly attempts = new Counter({
    name: 'hookline_attempts_total',
    help: 'Delivery attempts recorded, by outcome and HTTP status class ("none" when no response arrived).',
    labelNames: ['outcome', 'status_class'] as const,
    registers: [this.registry],
  });
  readonly deliveriesFinished = new Counter({
    name: 'hookline_deliveries_finished_total',
    help: 'Deliveries that reached a final state: success, or fail once the retry schedule ran out.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly retriesScheduled = new Counter({
    name: 'hookline_retries_scheduled_total',
    help: 'Failed attempts after which another attempt was scheduled.',
    registers: [this.registry],
  });
  readonly attemptDuration = new Histogram({
    name: 'hookline_attempt_duration_seconds',
    help: 'Duration of delivery attempts, from sending the request to the end of the response body, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly deliveryDelay = new Histogram({
    name: 'hookline_delivery_delay_seconds',
    help: 'Time from accepting a message to the end of the successful attempt of a delivery, retries included.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 21600, 86400],
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: 'hookline_http_requests_total',
    help: 'HTTP requests served, by method, route template and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'hookline_http_request_duration_seconds',
    help: 'Time to serve an HTTP request, by method and route template.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly gaugeErrors = new Counter({
    name: 'hookline_metrics_gauge_errors_total',
    help: 'Scrapes whose queue or store gauges could not be read; those gauges keep their last values.',
    registers: [this.registry],
  });

  constructor(options: MetricsOptions = {}) {
    collectDefaultMetrics({ register: this.registry, prefix: 'hookline_' });
    if (options.readGauges) {
      this.registerGauges(options.readGauges, options.onGaugeError);
    }
  }

  /** Counts a message that the API stored. */
  messageAccepted(eventType: string): void {
    this.messagesAccepted.inc({ event_type: this.eventTypeLabel(eventType) });
  }

  attemptFinished(event: AttemptFinishedEvent): void {
    this.attempts.inc({ outcome: event.outcome, status_class: statusClass(event.statusCode) });
    this.attemptDuration.observe({ outcome: event.outcome }, event.durationMs / 1000);
    if (event.nextAttemptAt !== null) {
      this.retriesScheduled.inc();
      return;
    }
    this.deliveriesFinished.inc({ outcome: event.outcome });
    if (event.outcome === 'success') {
      const finishedAt = event.startedAt + event.durationMs;
      this.deliveryDelay.observe(Math.max(0, finishedAt - event.acceptedAt) / 1000);
    }
  }

  /** Counts an HTTP request. `route` is the route template, such as `/api/v1/app/:app_id`. */
  requestServed(method: string, route: string, statusCode: number, durationMs: number): void {
    this.httpRequests.inc({ method, route, status_code: String(statusCode) });
    this.httpDuration.observe({ method, route }, durationMs / 1000);
  }

  /** Renders the metrics in the Prometheus text format. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private eventTypeLabel(eventType: string): string {
    if (this.eventTypes.has(eventType)) {
      return eventType;
    }
    if (this.eventTypes.size >= maxEventTypeLabels) {
      return 'other';
    }
    this.eventTypes.add(eventType);
    return eventType;
  }

  private registerGauges(readGauges: () => Promise<GaugeSnapshot>, onError?: (error: unknown) => void): void {
    // One read serves every gauge of a scrape: the first gauge collected starts it.
    let current: Promise<GaugeSnapshot | undefined> | undefined;
    const snapshot = () => {
      current ??= readGauges()
        .catch((error: unknown) => {
          this.gaugeErrors.inc();
          onError?.(error);
          return undefined;
        })
        .finally(() => setTimeout(() => (current = undefined), 0).unref());
      return current;
    };

    const registers = [this.registry];
    new Gauge({
      name: 'hookline_queue_jobs',
      help: 'Jobs in each queue by state: waiting (due, not claimed), delayed (due later, such as scheduled retries) and active.',
      labelNames: ['queue', 'state'] as const,
      registers,
      async collect() {
        const values = await snapshot();
        for (const queue of values?.queues ?? []) {
          this.set({ queue: queue.name, state: 'waiting' }, queue.waiting);
          this.set({ queue: queue.name, state: 'delayed' }, queue.delayed);
          this.set({ queue: queue.name, state: 'active' }, queue.active);
        }
      },
    });
    new Gauge({
      name: 'hookline_queue_oldest_job_age_seconds',
      help: 'How long the oldest waiting job of each queue has been due; 0 when none waits.',
      labelNames: ['queue'] as const,
      registers,
      async collect() {
        const values = await snapshot();
        for (const queue of values?.queues ?? []) {
          this.set({ queue: queue.name }, (queue.oldestAgeMs ?? 0) / 1000);
        }
      },
    });
    const single = (name: string, help: string, read: (values: GaugeSnapshot) => number) =>
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const values = await snapshot();
          if (values !== undefined) {
            this.set(read(values));
          }
        },
      });
    single('hookline_outbox_backlog', 'Jobs in the outbox table waiting for the relay to move them to Redis (scaled mode).', (values) => values.outboxBacklog);
    single('hookline_open_breakers', 'Endpoints whose circuit breaker is open or half-open.', (values) => values.openBreakers);
    single('hookline_disabled_endpoints', 'Endpoints that are disabled.', (values) => values.disabledEndpoints);
  }
}
