import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { SseParser, type ServerSentEvent } from '../../src/cli/sse-parser.js';

/** An open event stream and what it has received so far. */
export interface SseConnection {
  response: IncomingMessage;
  events: ServerSentEvent[];
  comments: string[];
  /** Resolves when the server ends the stream or the connection drops. */
  ended: Promise<void>;
  close(): void;
}

/** Opens `url` as an event stream with the bearer token and, when given, a Last-Event-ID. */
export async function openEventStream(url: string, token: string, lastEventId?: string): Promise<SseConnection> {
  const events: ServerSentEvent[] = [];
  const comments: string[] = [];
  let clientRequest: ClientRequest | undefined;

  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    clientRequest = request(
      url,
      {
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'text/event-stream',
          ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
        },
      },
      resolve,
    );
    clientRequest.on('error', reject);
    clientRequest.end();
  });

  const parser = new SseParser({ onEvent: (event) => events.push(event), onComment: (text) => comments.push(text) });
  const ended = new Promise<void>((resolve) => {
    response.on('data', (chunk: Buffer) => parser.push(chunk));
    response.on('end', resolve);
    response.on('error', () => resolve());
    response.on('close', resolve);
  });
  return {
    response,
    events,
    comments,
    ended,
    close: () => clientRequest?.destroy(),
  };
}
