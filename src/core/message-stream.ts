import { setMaxListeners } from 'node:events';
import type { MessageNotifier } from '../cache/message-notifier.js';
import { streamStart, type StreamPosition, type StreamReadResult } from '../store/repositories/message-stream.js';
import type { Application } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { ApplicationService } from './applications.js';
import { ValidationError } from './errors.js';

/** Filters of the pull API and the event stream. */
export interface StreamFilter {
  eventTypes?: readonly string[] | undefined;
  channels?: readonly string[] | undefined;
  /** Only messages created after this time (ms). */
  createdAfter?: number | undefined;
}

export interface MessageStreamOptions {
  /**
   * How often a waiting reader checks the store without a notice, in milliseconds. Notices
   * can be lost while Redis restarts, so this bounds how late such a message arrives.
   */
  fallbackCheckMs: number;
  /**
   * How often a waiting reader checks again while committed messages wait for older
   * transactions of the database to end (PostgreSQL), in milliseconds.
   */
  releaseCheckMs: number;
}

/** Wakes a waiting reader on a notice, a timer, shutdown or its own abort signal. */
export interface Waiter {
  /** Resolves after the next notice, after `timeoutMs`, or when aborted, whichever comes first. */
  wait(timeoutMs: number): Promise<void>;
  /** True when a notice arrived since the last `wait` or `consume`, and clears the flag. */
  consume(): boolean;
  close(): void;
}

/**
 * Reads an application's messages in commit order for the pull API and the event stream,
 * and lets readers wait for new ones. Notices come from the notifier, which reaches every
 * API process in the scaled mode.
 */
export class MessageStreamService {
  /** The position before the first message. */
  readonly start: StreamPosition = streamStart;

  private readonly shutdown = new AbortController();

  constructor(
    private readonly store: Store,
    private readonly applications: ApplicationService,
    private readonly notifier: MessageNotifier,
    private readonly options: MessageStreamOptions,
  ) {
    // Every open stream and long poll listens for shutdown.
    setMaxListeners(0, this.shutdown.signal);
  }

  /** Aborted when the server shuts down, so that readers end instead of holding it open. */
  get closing(): AbortSignal {
    return this.shutdown.signal;
  }

  async application(appIdOrUid: string): Promise<Application> {
    return this.applications.get(appIdOrUid);
  }

  /** Checks an iterator or a Last-Event-ID from a request; `loc` names the field in the 422. */
  parsePosition(text: string | undefined, loc: string[]): StreamPosition | undefined {
    if (text === undefined) {
      return undefined;
    }
    if (!this.store.messageStream.isPosition(text)) {
      throw ValidationError.field(loc, `"${text}" is not a position of this event stream; pass an iterator or event id that this server returned`);
    }
    return text;
  }

  /** Returns the position of the newest message that a reader may see now, or the start of an empty stream. */
  async end(appId: string): Promise<StreamPosition> {
    return (await this.store.messageStream.end(appId)) ?? streamStart;
  }

  async read(appId: string, after: StreamPosition, limit: number, filter: StreamFilter): Promise<StreamReadResult> {
    return this.store.messageStream.read({ appId, after, limit, ...filter });
  }

  /**
   * Reads like `read`, but when nothing is newer than `after`, waits up to `waitMs` for a
   * message and reads again, returning as soon as one arrives. Returns the empty result
   * when the time is up, the signal aborts or the server shuts down.
   */
  async poll(
    appId: string,
    after: StreamPosition,
    limit: number,
    filter: StreamFilter,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<StreamReadResult> {
    const deadline = Date.now() + waitMs;
    // Subscribing before the first read means a message committed in between still wakes us.
    const waiter = this.waiter(appId, signal);
    try {
      for (;;) {
        waiter.consume();
        const result = await this.read(appId, after, limit, filter);
        after = result.position;
        const remaining = deadline - Date.now();
        if (result.items.length > 0 || remaining <= 0 || signal.aborted || this.shutdown.signal.aborted) {
          return result;
        }
        await waiter.wait(Math.min(remaining, this.checkDelay(result)));
      }
    } finally {
      waiter.close();
    }
  }

  /** Returns how long a reader that reached the end waits for a notice before it reads again, in milliseconds. */
  checkDelay(result: StreamReadResult): number {
    return result.unreleased ? this.options.releaseCheckMs : this.options.fallbackCheckMs;
  }

  /** Subscribes to the application's notices until `close`; `signal` and shutdown end each wait at once. */
  waiter(appId: string, signal: AbortSignal): Waiter {
    let notified = false;
    let wake: (() => void) | undefined;
    const onNotice = () => {
      notified = true;
      wake?.();
    };
    const onAbort = () => wake?.();
    const unsubscribe = this.notifier.subscribe(appId, onNotice);
    signal.addEventListener('abort', onAbort);
    this.shutdown.signal.addEventListener('abort', onAbort);

    return {
      wait: (timeoutMs) => {
        if (notified || signal.aborted || this.shutdown.signal.aborted) {
          notified = false;
          return Promise.resolve();
        }
        return new Promise<void>((resolve) => {
          const timer = setTimeout(done, timeoutMs);
          function done() {
            clearTimeout(timer);
            wake = undefined;
            notified = false;
            resolve();
          }
          wake = done;
        });
      },
      consume: () => {
        const was = notified;
        notified = false;
        return was;
      },
      close: () => {
        wake?.();
        unsubscribe();
        signal.removeEventListener('abort', onAbort);
        this.shutdown.signal.removeEventListener('abort', onAbort);
      },
    };
  }

  /** Tells the readers of the application that a message was committed. */
  notify(appId: string): void {
    this.notifier.publish(appId);
  }

  /** Ends every wait and stream, before the HTTP server closes. */
  close(): void {
    this.shutdown.abort();
  }
}
