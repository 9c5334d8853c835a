import { setTimeout as delay } from 'node:timers/promises';
import { version } from '../app/version.js';
import { generateSecret, isAsymmetricSecret, publicKeyOf, sign, validateAsymmetricSecret, validateSecret } from '../signing/index.js';
import { apiOptionsHelp, describeApiError, describeFetchError, resolveApiUrl, resolveToken, UsageError } from './api-client.js';
import { integerOption, listOption, parseCommandArgs, type ToolCommand } from './command.js';
import { SseParser, type ServerSentEvent } from './sse-parser.js';

const help = `Usage: hookline listen <app> --forward-to URL [options]

Follows an application's event stream and forwards each message to a server on your
machine as a webhook, with Standard Webhooks headers signed by a local secret that is
printed at start. Prints one line per delivery: time, event type, message id, status
and duration. When the connection drops or Hookline restarts, it reconnects and resumes
after the last message it received, so no message is missed. Stop it with Ctrl-C.

Arguments:
  <app>                 Application id (app_...) or uid.

Options:
  --forward-to URL      Where to POST each message, such as http://localhost:3000/webhooks. Required.
  --secret SECRET       Signing secret for the forwarded requests: whsec_ and base64 of 24 to 64
                        bytes, or an ed25519 signing key (whsk_...) to sign v1a. Default: a new
                        random whsec_ secret, printed at start.
  --event-types LIST    Comma-separated event types to forward. Default: all.
  --channels LIST       Comma-separated channels; forwards messages with at least one of them. Default: all.
  --iterator POSITION   Start after this position (an event id printed by an earlier run).
                        Default: messages accepted from now on.
  --timeout SECONDS     How long a forwarded request may take before it counts as failed. Default 15.
  --idle-timeout SECS   Reconnect when the stream sends nothing, not even a heartbeat, for this
                        long. Default 60; keep it above the server's HOOKLINE_STREAM_HEARTBEAT.
${apiOptionsHelp}
                     An application token (hookline token create) is enough.
  -h, --help            Print this help.`;

/** Shortest and longest wait before reconnecting, in milliseconds; the wait doubles after each failed try. */
const reconnectDelays = { first: 250, max: 5_000 };

interface ListenOptions {
  streamUrl: string;
  token: string;
  forwardTo: string;
  secret: string;
  timeoutMs: number;
  idleTimeoutMs: number;
  start: string | undefined;
}

interface StreamedMessage {
  id: string;
  eventType: string;
  payload: unknown;
}

/** A failure that reconnecting cannot fix, such as a wrong token or an unknown application. */
class FatalStreamError extends Error {}

function timestamp(): string {
  return new Date().toISOString();
}

function line(text: string): void {
  process.stdout.write(`${timestamp()}  ${text}\n`);
}

/** Signs and POSTs one message to the local server, and prints the outcome. */
async function forward(options: ListenOptions, message: StreamedMessage): Promise<void> {
  // Hookline stores and signs the payload as compact JSON; the same bytes are sent here.
  const body = Buffer.from(JSON.stringify(message.payload), 'utf8');
  const seconds = Math.floor(Date.now() / 1000);
  const started = performance.now();
  try {
    const response = await fetch(options.forwardTo, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': `Hookline-listen/${version}`,
        'webhook-id': message.id,
        'webhook-timestamp': String(seconds),
        'webhook-signature': sign(options.secret, message.id, seconds, body),
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    await response.arrayBuffer();
    const ms = Math.round(performance.now() - started);
    line(`${message.eventType}  ${message.id}  -> ${response.status} in ${ms} ms`);
  } catch (error) {
    const ms = Math.round(performance.now() - started);
    const reason = error instanceof Error && error.name === 'TimeoutError' ? `timed out after ${options.timeoutMs} ms` : describeFetchError(error);
    line(`${message.eventType}  ${message.id}  -> failed in ${ms} ms: ${reason}`);
  }
}

function parseMessage(event: ServerSentEvent): StreamedMessage {
  const parsed = JSON.parse(event.data) as StreamedMessage;
  if (typeof parsed.id !== 'string' || typeof parsed.eventType !== 'string') {
    throw new Error(`Unexpected event from the stream: ${event.data.slice(0, 200)}`);
  }
  return parsed;
}

/**
 * Reads one connection of the event stream until it ends, forwarding each message before
 * reading on, and returns the last position received.
 */
async function followOnce(options: ListenOptions, start: string | undefined, stopped: AbortSignal): Promise<string | undefined> {
  const connection = new AbortController();
  const signal = AbortSignal.any([connection.signal, stopped]);
  const response = await fetch(options.streamUrl, {
    headers: {
      authorization: `Bearer ${options.token}`,
      accept: 'text/event-stream',
      ...(start === undefined ? {} : { 'last-event-id': start }),
    },
    signal,
  });
  if (!response.ok) {
    const detail = describeApiError(await response.text());
    const message = `The event stream returned ${response.status}: ${detail}`;
    // 4xx other than 429 will not change by retrying: a wrong token, application or position.
    if (response.status >= 400 && response.status < 500 && response.status !== 429) {
      throw new FatalStreamError(message);
    }
    throw new Error(message);
  }
  if (response.body === null) {
    throw new Error('The event stream returned no body.');
  }

  let position = start;
  const events: ServerSentEvent[] = [];
  const parser = new SseParser({ onEvent: (event) => events.push(event) });
  let idle = setTimeout(() => connection.abort(new Error('idle')), options.idleTimeoutMs);
  line(start === undefined ? 'Connected; waiting for messages' : `Connected; resuming after ${start}`);

  try {
    const reader = response.body.getReader();
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) {
        return position;
      }
      clearTimeout(idle);
      parser.push(chunk.value);
      for (let event = events.shift(); event !== undefined; event = events.shift()) {
        await forward(options, parseMessage(event));
        position = event.id ?? position;
      }
      // A block with only an id (sent when the stream opens) also moves the resume position.
      position = parser.lastEventId ?? position;
      idle = setTimeout(() => connection.abort(new Error('idle')), options.idleTimeoutMs);
    }
  } catch (error) {
    const reason =
      connection.signal.aborted && !stopped.aborted
        ? new Error(`nothing received for ${options.idleTimeoutMs / 1000} s`, { cause: error })
        : error instanceof Error
          ? error
          : new Error(String(error));
    // The reconnect resumes after the last message forwarded.
    throw Object.assign(reason, { position });
  } finally {
    clearTimeout(idle);
  }
}

async function follow(options: ListenOptions, stopped: AbortSignal): Promise<number> {
  let position = options.start;
  let wait = reconnectDelays.first;
  while (!stopped.aborted) {
    try {
      position = await followOnce(options, position, stopped);
      wait = reconnectDelays.first;
      line('The server closed the stream; reconnecting');
    } catch (error) {
      if (stopped.aborted) {
        break;
      }
      if (error instanceof FatalStreamError) {
        process.stderr.write(`hookline listen: ${error.message}\n`);
        return 1;
      }
      const kept = (error as { position?: string }).position;
      position = kept ?? position;
      line(`Connection lost (${describeFetchError(error)}); reconnecting in ${wait} ms${position === undefined ? '' : ` to resume after ${position}`}`);
      await delay(wait, undefined, { signal: stopped }).catch(() => undefined);
      wait = Math.min(wait * 2, reconnectDelays.max);
    }
  }
  line(position === undefined ? 'Stopped' : `Stopped; continue later with --iterator ${position}`);
  return 0;
}

const commandOptions = {
  'forward-to': { type: 'string' },
  secret: { type: 'string' },
  'event-types': { type: 'string' },
  channels: { type: 'string' },
  iterator: { type: 'string' },
  timeout: { type: 'string' },
  'idle-timeout': { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, commandOptions);
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const [app, ...extra] = positionals;
  if (app === undefined) {
    throw new UsageError('Missing <app>: name the application by id or uid.');
  }
  if (extra.length > 0) {
    throw new UsageError(`Unexpected argument "${extra[0]}".`);
  }
  const forwardTo = values['forward-to'];
  if (forwardTo === undefined) {
    throw new UsageError('Missing --forward-to URL, such as http://localhost:3000/webhooks.');
  }
  try {
    const target = new URL(forwardTo);
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      throw new Error('not http');
    }
  } catch {
    throw new UsageError(`Invalid --forward-to "${forwardTo}": expected an http:// or https:// URL.`);
  }
  const secret = values.secret ?? generateSecret();
  const invalid = isAsymmetricSecret(secret) ? validateAsymmetricSecret(secret) : validateSecret(secret);
  if (invalid !== undefined) {
    throw new UsageError(`Invalid --secret: ${invalid}`);
  }

  const apiUrl = resolveApiUrl(values.url, process.env);
  const query = new URLSearchParams();
  for (const eventType of listOption(values['event-types']) ?? []) {
    query.append('event_types', eventType);
  }
  for (const channel of listOption(values.channels) ?? []) {
    query.append('channels', channel);
  }
  const search = query.size > 0 ? `?${query.toString()}` : '';
  const options: ListenOptions = {
    streamUrl: `${apiUrl}/api/v1/app/${encodeURIComponent(app)}/events/stream${search}`,
    token: resolveToken(values.token, process.env),
    forwardTo,
    secret,
    timeoutMs: (integerOption('timeout', values.timeout, 1, 3_600) ?? 15) * 1000,
    idleTimeoutMs: (integerOption('idle-timeout', values['idle-timeout'], 1, 86_400) ?? 60) * 1000,
    start: values.iterator,
  };

  const verifyWith = isAsymmetricSecret(secret) ? `Public key to verify with: ${publicKeyOf(secret)}\n` : '';
  process.stdout.write(`Forwarding messages of ${app} from ${apiUrl} to ${forwardTo}\nSigning secret: ${secret}\n${verifyWith}`);
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return follow(options, stopped.signal);
}

export const listenCommand: ToolCommand = { name: 'listen', help, options: commandOptions, run };
