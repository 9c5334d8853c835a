/**
 * One-line progress on stderr. On a terminal the line is rewritten in place; elsewhere
 * (CI logs, pipes) a line is printed at most every `quietIntervalMs`, so logs stay short.
 */
export class Progress {
  private lastPrinted = 0;
  private lineOpen = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly quietIntervalMs = 5_000,
  ) {}

  /** Shows `text` as the current state of the run. */
  update(text: string): void {
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[K${text}`);
      this.lineOpen = true;
      return;
    }

    const now = Date.now();
    if (now - this.lastPrinted >= this.quietIntervalMs) {
      this.lastPrinted = now;
      this.stream.write(`${text}\n`);
    }
  }

  /** Prints `text` on a line of its own, ending any line in progress. */
  log(text: string): void {
    this.finish();
    this.stream.write(`${text}\n`);
    this.lastPrinted = 0;
  }

  /** Ends the line in progress, so later output starts on a new line. */
  finish(): void {
    if (this.lineOpen) {
      this.stream.write('\n');
      this.lineOpen = false;
    }
  }
}
