/** Store records in the API's vocabulary. Times are milliseconds since the epoch. */

export interface Application {
  id: string;
  uid: string | null;
  name: string;
  throttleRate: number | null;
  metadata: Record<string, string>;
  createdAt: number;
  updatedAt: number;
}

export interface EventType {
  name: string;
  description: string;
  schemas: Record<string, unknown> | null;
  archived: boolean;
  deprecated: boolean;
  featureFlag: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface Endpoint {
  id: string;
  appId: string;
  uid: string | null;
  url: string;
  description: string;
  disabled: boolean;
  throttleRate: number | null;
  eventTypes: string[] | null;
  channels: string[] | null;
  metadata: Record<string, string>;
  headers: Record<string, string>;
  createdAt: number;
  updatedAt: number;
}

export interface EndpointSecret {
  id: string;
  endpointId: string;
  secret: string;
  createdAt: number;
  expiresAt: number | null;
}

export interface Message {
  id: string;
  appId: string;
  eventType: string;
  eventId: string | null;
  payload: Buffer;
  channels: string[] | null;
  tags: string[] | null;
  createdAt: number;
  /** When the message's own payloadRetentionPeriod ends; null or absent when only the global retention applies. */
  payloadExpiresAt?: number | null;
}

/** Delivery status, with Svix's MessageStatus numbers. */
export const DeliveryStatus = {
  success: 0,
  pending: 1,
  fail: 2,
  sending: 3,
} as const;
export type DeliveryStatus = (typeof DeliveryStatus)[keyof typeof DeliveryStatus];

export const statusTexts: Record<number, 'success' | 'pending' | 'fail' | 'sending'> = {
  0: 'success',
  1: 'pending',
  2: 'fail',
  3: 'sending',
};

export interface Delivery {
  id: string;
  msgId: string;
  endpointId: string;
  appId: string;
  status: DeliveryStatus;
  attemptCount: number;
  nextAttemptAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** Reason an attempt was made, with Svix's MessageAttemptTriggerType numbers. */
export const TriggerType = {
  scheduled: 0,
  manual: 1,
} as const;
export type TriggerType = (typeof TriggerType)[keyof typeof TriggerType];

export interface Attempt {
  id: string;
  deliveryId: string;
  msgId: string;
  endpointId: string;
  appId: string;
  url: string;
  status: DeliveryStatus;
  responseStatusCode: number;
  response: string;
  responseDurationMs: number;
  triggerType: TriggerType;
  error: string | null;
  requestHeaders: Record<string, string>;
  createdAt: number;
}
