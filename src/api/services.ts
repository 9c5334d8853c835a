import type { ApplicationService } from '../core/applications.js';
import type { AttemptQueryService } from '../core/attempts.js';
import type { EndpointService } from '../core/endpoints.js';
import type { ExampleMessageService } from '../core/example-messages.js';
import type { EventTypeService } from '../core/event-types.js';
import type { MessageStreamService } from '../core/message-stream.js';
import type { MessageService } from '../core/messages.js';
import type { RedeliveryService } from '../core/redelivery.js';
import type { OperationalWebhookService } from '../core/operational-webhooks.js';
import type { ContentService } from '../core/retention.js';
import type { StatisticsService } from '../core/statistics.js';
import type { SystemOverviewService } from '../core/system-overview.js';
import type { WorkshopService } from '../core/workshop.js';
import type { DeliveryHealthReport } from '../delivery/health-report.js';

/** The domain services that the routes call. */
export interface ApiServices {
  applications: ApplicationService;
  eventTypes: EventTypeService;
  endpoints: EndpointService;
  messages: MessageService;
  stream: MessageStreamService;
  attempts: AttemptQueryService;
  redelivery: RedeliveryService;
  workshop: WorkshopService;
  examples: ExampleMessageService;
  operationalWebhooks: OperationalWebhookService;
  /** Circuit breakers, failure streaks and slow-downs of endpoints. */
  deliveryHealth: DeliveryHealthReport;
  statistics: StatisticsService;
  overview: SystemOverviewService;
  content: ContentService;
}

/** Checks of the services behind the API, for the health route. */
export interface HealthCheck {
  name: 'database' | 'queue' | 'cache';
  check(): Promise<void>;
}

/**
 * One check of /readyz. A `required` check that fails makes the process not ready (503);
 * an optional one is reported as `degraded` and the process stays ready.
 */
export interface ReadinessCheck {
  name: string;
  required: boolean;
  check(): Promise<void>;
}
