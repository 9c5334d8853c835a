import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { MessageStreamService, StreamFilter } from '../core/message-stream.js';
import type { StreamPosition } from '../store/repositories/message-stream.js';
import { messageOut } from './serializers.js';

export interface EventStreamOptions {
  stream: MessageStreamService;
  appId: string;
  start: StreamPosition;
  filter: StreamFilter;
  /** Maximum silence before a heartbeat comment line is written, in milliseconds. */
  heartbeatMs: number;
}

/**
 * Messages read from the store per query. Together with the socket's buffer this bounds a
 * connection's memory: at most one page of messages waits to be written.
 */
const pageSize = 20;

/** Reconnection delay that the server suggests to EventSource clients, in milliseconds. */
const retryMs = 1_000;

/**
 * Serves an application's messages as server-sent events: one `data` line with the
 * message as the pull API returns it, and its stream position as the event `id`, so that
 * a reconnecting client resumes with `Last-Event-ID`.
 *
 * Memory stays bounded for slow readers: when the socket's buffer is full (`write`
 * returns false) no more messages are read until it drains. Messages that the client has
 * not taken yet stay in the store instead of in this process.
 */
export async function serveEventStream(request: FastifyRequest, reply: FastifyReply, options: EventStreamOptions): Promise<void> {
  const { stream, appId, filter } = options;
  const response = reply.raw;
  const disconnected = new AbortController();
  response.on('close', () => disconnected.abort());
  // Ends the stream when the client goes away or the server shuts down.
  const closed = { signal: AbortSignal.any([disconnected.signal, stream.closing]) };

  reply.hijack();
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    // Tells nginx not to buffer the stream.
    'x-accel-buffering': 'no',
  });
  // The id without data gives EventSource clients a resume position before the first event,
  // so that messages accepted while they reconnect are not missed.
  response.write(`retry: ${retryMs}\nid: ${options.start}\n\n`);

  const waiter = stream.waiter(appId, closed.signal);
  let position = options.start;
  let lastWrite = Date.now();
  let sent = 0;
  request.log.info({ appId, position }, 'Event stream opened');

  try {
    while (!closed.signal.aborted) {
      waiter.consume();
      const result = await stream.read(appId, position, pageSize, filter);
      for (const item of result.items) {
        if (closed.signal.aborted) {
          break;
        }
        const event = `id: ${item.position}\ndata: ${JSON.stringify(messageOut(item.message))}\n\n`;
        lastWrite = Date.now();
        sent += 1;
        if (!response.write(event)) {
          await drained(response, closed.signal);
        }
      }
      if (closed.signal.aborted) {
        break;
      }
      position = result.position;
      if (!result.done) {
        continue;
      }

      const silence = Date.now() - lastWrite;
      if (silence >= options.heartbeatMs) {
        lastWrite = Date.now();
        if (!response.write(`: heartbeat ${new Date(lastWrite).toISOString()}\n\n`)) {
          await drained(response, closed.signal);
        }
        continue;
      }
      await waiter.wait(Math.min(stream.checkDelay(result), options.heartbeatMs - silence));
    }
  } catch (error) {
    // The client resumes from the last event id it received, so ending the stream loses nothing.
    request.log.error({ err: error, appId, position }, 'Event stream failed; closing it');
  } finally {
    waiter.close();
    request.log.info({ appId, position, sent, clientClosed: disconnected.signal.aborted }, 'Event stream closed');
    if (!response.writableEnded) {
      response.end();
    }
  }
}

/** Resolves once the response's socket has drained or the connection is gone. */
async function drained(response: ServerResponse, closed: AbortSignal): Promise<void> {
  if (closed.aborted) {
    return;
  }
  try {
    await once(response, 'drain', { signal: closed });
  } catch {
    // Aborted because the client went away; the caller's loop ends.
  }
}
