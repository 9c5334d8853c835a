import assert from 'node:assert/strict';
import { waitFor } from '../helpers/hookline.js';
import type { HooklineProcess } from '../helpers/hookline-process.js';
import { countBy, type AttemptRow, type DeliveryRow, type RespondedRequest } from './webhook-log.js';

/** Key of one (message, endpoint) pair, the unit that at-least-once delivery promises. */
export function pairKey(msgId: string, path: string): string {
  return `${msgId} ${path}`;
}

export interface SendOptions {
  /** Parallel senders per API process. Default 4. */
  sendersPerProcess?: number;
  /** Messages per second over all senders. Undefined sends as fast as the APIs accept. */
  rate?: number;
  /** Called after each accepted message with the number accepted so far. */
  onAccepted?: (acceptedCount: number) => void;
}

/**
 * Posts `trap.set` messages to the application `appId` until `accepted` contains `target`
 * ids, spread over `processes` by parallel senders. Each response must be 202. A sender
 * stops at the first request that gets no response, because its process was killed.
 * Returns how many requests got no response.
 */
export async function sendMessages(
  processes: HooklineProcess[],
  appId: string,
  accepted: Set<string>,
  target: number,
  options: SendOptions = {},
): Promise<number> {
  const { sendersPerProcess = 4, rate, onAccepted } = options;
  let started = accepted.size;
  const firstNumber = started;
  const startedAt = Date.now();
  let failedPosts = 0;

  const sender = async (hookline: HooklineProcess): Promise<void> => {
    while (started < target) {
      started += 1;
      const number = started;
      if (rate !== undefined) {
        // Paced: message N of this call is due N / rate seconds after the call started.
        const dueAt = startedAt + ((number - firstNumber) * 1_000) / rate;
        const waitMs = dueAt - Date.now();
        if (waitMs > 0) {
          await new Promise((resolve) => setTimeout(resolve, waitMs));
        }
      }

      let response;
      try {
        response = await hookline.request('POST', `/api/v1/app/${appId}/msg`, { eventType: 'trap.set', payload: { n: number } });
      } catch {
        failedPosts += 1;
        return;
      }
      assert.equal(response.status, 202, `message ${number} through ${hookline.url}: ${JSON.stringify(response.body)}`);
      accepted.add(response.body.id as string);
      onAccepted?.(accepted.size);
    }
  };

  await Promise.all(processes.flatMap((hookline) => Array.from({ length: sendersPerProcess }, () => sender(hookline))));
  return failedPosts;
}

/**
 * Waits until the receiver has responded with a 2xx to every pair of an accepted message
 * and an endpoint path. On timeout the error names how many pairs are missing and a few of them.
 */
export async function waitForAllPairs(
  responded: readonly RespondedRequest[],
  accepted: ReadonlySet<string>,
  paths: readonly string[],
  timeoutMs: number,
): Promise<void> {
  const expected = [...accepted].flatMap((msgId) => paths.map((path) => pairKey(msgId, path)));
  const delivered = new Set<string>();
  let scanned = 0;
  const missing = () => expected.filter((pair) => !delivered.has(pair));

  try {
    await waitFor(
      () => {
        for (; scanned < responded.length; scanned += 1) {
          const request = responded[scanned]!;
          if (request.statusCode < 300) {
            delivered.add(pairKey(request.msgId, request.path));
          }
        }
        return delivered.size >= expected.length && missing().length === 0;
      },
      timeoutMs,
      `${expected.length} (message, endpoint) pairs`,
    );
  } catch (error) {
    const absent = missing();
    throw new Error(`${absent.length} of ${expected.length} (message, endpoint) pairs never got a 2xx, such as: ${absent.slice(0, 5).join(', ')}`, {
      cause: error,
    });
  }
}

/** Counts 2xx responses beyond the first for each pair of an accepted message and an endpoint. */
export function countDuplicates(responded: readonly RespondedRequest[], accepted: ReadonlySet<string>): number {
  const successes = countBy(
    responded.filter((request) => request.statusCode < 300 && accepted.has(request.msgId)),
    (request) => pairKey(request.msgId, request.path),
  );
  return [...successes.values()].reduce((sum, count) => sum + count - 1, 0);
}

/**
 * Checks the stored deliveries and attempts of the accepted messages against what the
 * receiver saw:
 * 1. one delivery per accepted message and endpoint, each with a successful attempt row,
 *    and an attempt count equal to its attempt rows;
 * 2. every attempt row that carries a response matches exactly one request the receiver
 *    responded to, by the body `request-N`, with the same message, endpoint and status.
 */
export function auditStoredAttempts(
  rows: { attempts: AttemptRow[]; deliveries: DeliveryRow[] },
  responded: readonly RespondedRequest[],
  accepted: ReadonlySet<string>,
  endpointPathById: ReadonlyMap<string, string>,
): void {
  const acceptedDeliveries = rows.deliveries.filter((delivery) => accepted.has(delivery.msg_id));
  assert.equal(acceptedDeliveries.length, accepted.size * endpointPathById.size, 'one delivery per accepted message and endpoint');

  const attemptsByDelivery = countBy(rows.attempts, (attempt) => attempt.delivery_id);
  const successesByDelivery = countBy(
    rows.attempts.filter((attempt) => attempt.status === 0),
    (attempt) => attempt.delivery_id,
  );
  const withoutSuccessAttempt = acceptedDeliveries.filter((delivery) => !successesByDelivery.has(delivery.id));
  assert.deepEqual(withoutSuccessAttempt, [], 'successful deliveries without a successful attempt row');
  const countMismatch = acceptedDeliveries.filter((delivery) => delivery.attempt_count !== (attemptsByDelivery.get(delivery.id) ?? 0));
  assert.deepEqual(countMismatch, [], 'deliveries whose attempt_count differs from their attempt rows');

  const withResponse = rows.attempts.filter((attempt) => attempt.response_status_code !== 0);
  const repeated = [...countBy(withResponse, (attempt) => attempt.response)].filter(([, count]) => count > 1);
  assert.deepEqual(repeated, [], 'receiver responses recorded by more than one attempt');
  const respondedByNumber = new Map(responded.map((request) => [request.number, request]));
  for (const attempt of withResponse) {
    const request = respondedByNumber.get(Number(attempt.response.replace('request-', '')));
    assert.ok(request, `attempt ${attempt.id} records response "${attempt.response}", which the receiver never sent`);
    assert.equal(request.msgId, attempt.msg_id);
    assert.equal(request.path, endpointPathById.get(attempt.endpoint_id));
    assert.equal(request.statusCode, attempt.response_status_code);
  }
}
