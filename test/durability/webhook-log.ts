import type { IncomingMessage, ServerResponse } from 'node:http';
import SqliteDatabase from 'better-sqlite3';
import { startReceiver, type Receiver } from '../delivery/receiver.js';

/** One request that the receiver responded to, as it saw it. */
export interface RespondedRequest {
  /** Number of the request at this receiver, starting at 1. The response body is `request-N`. */
  number: number;
  msgId: string;
  path: string;
  statusCode: number;
}

/** A loopback receiver that responds after a delay and logs every request it responded to. */
export interface LoggingReceiver {
  receiver: Receiver;
  /** Requests responded to so far, in the order their responses were written. */
  responded: RespondedRequest[];
  /** Requests whose body arrived and whose response has not been written yet. */
  readonly inFlight: number;
  /** `http://127.0.0.1:port` of the receiver. */
  baseUrl: string;
  close(): Promise<void>;
}

export interface ReceiverScript {
  /** Milliseconds to wait before responding to request `number`. */
  delayMs(number: number): number;
  /** Status of the response to request `number`. */
  statusCode(number: number): number;
}

/**
 * Starts a receiver that responds to each request with the scripted status after the
 * scripted delay, with the body `request-N`. Hookline stores that body with the attempt,
 * so a test can match every attempt row to the one request it records.
 */
export async function startLoggingReceiver(script: ReceiverScript): Promise<LoggingReceiver> {
  const responded: RespondedRequest[] = [];
  let received = 0;
  let inFlight = 0;

  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    received += 1;
    inFlight += 1;
    const number = received;
    const msgId = String(request.headers['webhook-id']);
    const path = request.url ?? '';
    const statusCode = script.statusCode(number);

    let settled = false;
    const settle = (): void => {
      if (!settled) {
        settled = true;
        inFlight -= 1;
      }
    };
    response.once('finish', () => {
      responded.push({ number, msgId, path, statusCode });
      settle();
    });
    response.once('close', settle);

    setTimeout(() => {
      if (!response.destroyed) {
        response.writeHead(statusCode, { 'content-type': 'text/plain' });
        response.end(`request-${number}`);
      }
    }, script.delayMs(number));
  };

  const receiver = await startReceiver(handler);
  return {
    receiver,
    responded,
    get inFlight() {
      return inFlight;
    },
    baseUrl: `http://127.0.0.1:${receiver.port}`,
    close: () => receiver.close(),
  };
}

/** A row of the `attempt` table, as the durability tests read it. */
export interface AttemptRow {
  id: string;
  delivery_id: string;
  msg_id: string;
  endpoint_id: string;
  status: number;
  response_status_code: number;
  response: string;
  error: string | null;
}

/** A row of the `delivery` table, as the durability tests read it. */
export interface DeliveryRow {
  id: string;
  msg_id: string;
  endpoint_id: string;
  status: number;
  attempt_count: number;
}

/** Opens Hookline's SQLite file read-only, runs `read` and closes the file. */
export function readDatabase<T>(path: string, read: (db: SqliteDatabase.Database) => T): T {
  const db = new SqliteDatabase(path, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** Returns the attempt and delivery rows of Hookline's SQLite file. */
export function readDeliveries(path: string): { attempts: AttemptRow[]; deliveries: DeliveryRow[] } {
  return readDatabase(path, (db) => ({
    attempts: db
      .prepare('select id, delivery_id, msg_id, endpoint_id, status, response_status_code, response, error from attempt')
      .all() as AttemptRow[],
    deliveries: db.prepare('select id, msg_id, endpoint_id, status, attempt_count from delivery').all() as DeliveryRow[],
  }));
}

/** Counts items by key. */
export function countBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const name = key(item);
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}
