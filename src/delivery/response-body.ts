/** A response body stream as undici returns it. */
export interface ResponseBodyStream extends AsyncIterable<Buffer> {
  destroy(error?: Error): void;
}

/** The part of a response body that was kept. */
export interface CappedBody {
  /** The kept bytes decoded as UTF-8, without a last character that the cap cut in half. */
  text: string;
  /** Whether the endpoint sent more than the cap, so the rest was discarded. */
  truncated: boolean;
}

/**
 * Reads a response body up to `maxBytes`. As soon as more than that arrives, it destroys
 * the stream, which closes the connection instead of draining a body of any size.
 */
export async function readCappedBody(body: ResponseBodyStream, maxBytes: number): Promise<CappedBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;

  for await (const chunk of body) {
    const room = maxBytes - size;
    if (chunk.length > room) {
      chunks.push(chunk.subarray(0, room));
      truncated = true;
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }

  if (truncated) {
    body.destroy();
  }

  // In streaming mode the decoder holds back a trailing incomplete UTF-8 sequence,
  // which is what the cap may have cut in half.
  const text = new TextDecoder('utf-8').decode(Buffer.concat(chunks), { stream: truncated });
  return { text, truncated };
}
