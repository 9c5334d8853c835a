import { EventEmitter } from 'node:events';

/**
 * Wakes the readers of an application's message stream when a message is accepted: the
 * long-polling requests and event streams of every API process. A notice carries only the
 * application id, because readers fetch the messages from the store. Notices are hints:
 * one may be lost (Redis restarting), so readers also check the store every few seconds.
 */
export interface MessageNotifier {
  readonly driver: 'memory' | 'redis';
  /** Tells every reader of the application that a message was committed. Publishing failures are reported, not thrown. */
  publish(appId: string): void;
  /** Calls `listener` on each notice for the application until the returned function is called. */
  subscribe(appId: string, listener: () => void): () => void;
  close(): Promise<void>;
}

/** Notices within this process, for the embedded mode. */
export class MemoryMessageNotifier implements MessageNotifier {
  readonly driver = 'memory';

  private readonly emitter = new EventEmitter();

  constructor() {
    // Every open stream and long-polling request adds a listener.
    this.emitter.setMaxListeners(0);
  }

  publish(appId: string): void {
    this.emitter.emit(appId);
  }

  subscribe(appId: string, listener: () => void): () => void {
    this.emitter.on(appId, listener);
    return () => this.emitter.off(appId, listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
