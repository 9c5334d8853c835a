/**
 * Collects items that arrive in one turn of the event loop and writes them with one call on
 * the next turn, so that many handlers finishing together cost one statement instead of one each.
 */
export class BatchWriter<T> {
  private pending: { item: T; resolve: () => void }[] = [];
  private readonly write: (items: T[]) => Promise<void>;
  private readonly onError: (error: unknown, items: T[]) => void;

  /** `onError` receives a failed write's error and items. Callers of add still resolve. */
  constructor(write: (items: T[]) => Promise<void>, onError: (error: unknown, items: T[]) => void) {
    this.write = write;
    this.onError = onError;
  }

  /** Queues an item. Resolves once the batch that contains it was written or its failure handled. */
  add(item: T): Promise<void> {
    return new Promise((resolve) => {
      this.pending.push({ item, resolve });
      if (this.pending.length === 1) {
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const items = batch.map((entry) => entry.item);

    try {
      await this.write(items);
    } catch (error) {
      this.onError(error, items);
    } finally {
      for (const entry of batch) {
        entry.resolve();
      }
    }
  }
}
