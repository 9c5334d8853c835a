/** One server-sent event, as the HTML living standard defines its fields. */
export interface ServerSentEvent {
  /** The `id` field, or undefined when the event had none. */
  id: string | undefined;
  /** The `event` field; `message` when absent. */
  event: string;
  /** The `data` lines, joined with newlines. */
  data: string;
}

/**
 * Parses a `text/event-stream` body incrementally: feed it chunks as they arrive and it
 * calls `onEvent` for each complete event and `onComment` for each comment line (such as a
 * heartbeat). `retry` fields are passed to `onRetry` in milliseconds.
 */
export class SseParser {
  /**
   * The id of the last complete block, even one without data: a server may send
   * `id: POSITION` alone to give a resume position before any event.
   */
  lastEventId: string | undefined;

  private buffer = '';
  private data: string[] = [];
  private id: string | undefined;
  private event = '';
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly handlers: {
      onEvent(event: ServerSentEvent): void;
      onComment?(text: string): void;
      onRetry?(ms: number): void;
    },
  ) {}

  push(chunk: Uint8Array | string): void {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer);
      if (!match) {
        return;
      }
      const line = this.buffer.slice(0, match.index);
      this.buffer = this.buffer.slice(match.index + match[0].length);
      this.line(line);
    }
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) {
      this.handlers.onComment?.(line.slice(1).trim());
      return;
    }

    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) {
      value = value.slice(1);
    }
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.id = value;
        }
        break;
      case 'event':
        this.event = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) {
          this.handlers.onRetry?.(Number(value));
        }
        break;
      default:
        break;
    }
  }

  private dispatch(): void {
    this.lastEventId = this.id;
    if (this.data.length > 0) {
      this.handlers.onEvent({ id: this.id, event: this.event === '' ? 'message' : this.event, data: this.data.join('\n') });
    }
    this.data = [];
    this.event = '';
  }
}
