import type { AttemptFinishedEvent, AttemptObserver } from './attempt-events.js';
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';

/** Trace context carried in job data across a queue: the W3C `traceparent` and `tracestate` fields. */
export type TraceCarrier = Record<string, string>;

export interface TracingSettings {
  serviceName: string;
  version: string;
  /** Environment that selects the exporter; tracing starts only when it names an OTLP endpoint. */
  environment: NodeJS.ProcessEnv;
}

export interface Tracing {
  readonly enabled: boolean;
  /** Exports the spans still buffered and stops the exporter. */
  shutdown(): Promise<void>;
}

/** Whether spans are recorded in this process. Every helper below checks it first, so tracing off costs one branch. */
let enabled = false;

const tracerName = 'hookline';

/**
 * Starts OpenTelemetry tracing when OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set: spans go to that collector over OTLP/HTTP with
 * JSON bodies, in batches. The SDK is loaded only then, so a process without the setting
 * neither loads it nor creates spans.
 */
export async function startTracing(settings: TracingSettings): Promise<Tracing> {
  const { environment } = settings;
  if (!environment.OTEL_EXPORTER_OTLP_ENDPOINT && !environment.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    return { enabled: false, shutdown: async () => undefined };
  }

  const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/core'),
    ]);

  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': environment.OTEL_SERVICE_NAME ?? settings.serviceName, 'service.version': settings.version }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  enabled = true;

  return {
    enabled: true,
    async shutdown() {
      enabled = false;
      await provider.shutdown();
      contextManager.disable();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** Tells whether spans are recorded. */
export function tracingEnabled(): boolean {
  return enabled;
}

/**
 * Runs `work` inside a new span, a child of the active span or of `parent` (a carrier taken
 * from job data). The span records an exception and ends when `work` settles. Without
 * tracing this only calls `work`.
 */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  work: () => Promise<T>,
  options: { parent?: TraceCarrier | undefined; kind?: SpanKind } = {},
): Promise<T> {
  if (!enabled) {
    return work();
  }
  const parentContext = options.parent ? propagation.extract(context.active(), options.parent) : context.active();
  const tracer = trace.getTracer(tracerName);
  return tracer.startActiveSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes }, parentContext, async (span) => {
    try {
      return await work();
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Returns the trace context of the active span, to store in job data; undefined without tracing. */
export function currentTraceCarrier(): TraceCarrier | undefined {
  if (!enabled) {
    return undefined;
  }
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return Object.keys(carrier).length > 0 ? carrier : undefined;
}

/** Adds attributes to the active span, if any. */
export function annotateActiveSpan(attributes: Attributes): void {
  if (!enabled) {
    return;
  }
  trace.getActiveSpan()?.setAttributes(attributes);
}

/** A server span of one HTTP request, started before routing and ended with the response. */
export interface RequestSpan {
  span: Span;
  context: Context;
}

/** Starts the span of an incoming HTTP request, continuing a `traceparent` header when the caller sent one. */
export function startRequestSpan(method: string, headers: Record<string, string | string[] | undefined>): RequestSpan | undefined {
  if (!enabled) {
    return undefined;
  }
  const carrier: TraceCarrier = {};
  for (const name of ['traceparent', 'tracestate']) {
    const value = headers[name];
    if (typeof value === 'string') {
      carrier[name] = value;
    }
  }
  const parent = propagation.extract(context.active(), carrier);
  const span = trace.getTracer(tracerName).startSpan(`HTTP ${method}`, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** Ends a request span with the route template and the response status. */
export function endRequestSpan(requestSpan: RequestSpan, method: string, route: string, statusCode: number): void {
  requestSpan.span.updateName(`${method} ${route}`);
  requestSpan.span.setAttributes({ 'http.route': route, 'http.response.status_code': statusCode });
  if (statusCode >= 500) {
    requestSpan.span.setStatus({ code: SpanStatusCode.ERROR });
  }
  requestSpan.span.end();
}

/** Runs `next` inside the request span's context, so spans and job data created while handling it are its children. */
export function runInRequestContext(requestSpan: RequestSpan, next: () => void): void {
  context.with(requestSpan.context, next);
}

/** Adds the ids and the result of an attempt to the span of the job that made it. */
export const tracingAttemptObserver: AttemptObserver = {
  attemptFinished(event: AttemptFinishedEvent) {
    annotateActiveSpan({
      'hookline.app_id': event.appId,
      'hookline.endpoint_id': event.endpointId,
      'hookline.msg_id': event.msgId,
      'hookline.attempt_id': event.attemptId,
      'hookline.event_type': event.eventType,
      'hookline.attempt_number': event.attemptNumber,
      'hookline.outcome': event.outcome,
      'http.response.status_code': event.statusCode,
    });
  },
};
