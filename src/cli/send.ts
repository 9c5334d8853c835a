import { readFileSync } from 'node:fs';
import { apiOptionsHelp, callApi, resolveApiUrl, resolveToken, UsageError } from './api-client.js';
import { listOption, parseCommandArgs, type ToolCommand } from './command.js';

const help = `Usage: hookline send <app> <event-type> --data JSON|@FILE [options]

Sends one message to an application, as POST /api/v1/app/{app}/msg does, and prints its id.
Every endpoint of the application that subscribed to the event type receives it.

Arguments:
  <app>              Application id (app_...) or uid.
  <event-type>       Event type name, such as trap.set.

Options:
  --data JSON|@FILE  Payload: a JSON object, or @ and a file path to read it from (@- reads stdin).
  --event-id ID      Your id of the event; a second message with the same id is rejected (409).
  --channels LIST    Comma-separated channels, at most 5, such as eu,priority.
${apiOptionsHelp}
                     Sending needs the admin token.
  -h, --help         Print this help.`;

function readPayload(data: string): unknown {
  let text = data;
  if (data.startsWith('@')) {
    const path = data.slice(1);
    try {
      text = readFileSync(path === '-' ? 0 : path, 'utf8');
    } catch (error) {
      throw new UsageError(`Could not read --data file "${path}": ${error instanceof Error ? error.message : String(error)}.`);
    }
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`Invalid --data: not JSON (${error instanceof Error ? error.message : String(error)}).`);
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new UsageError('Invalid --data: the payload must be a JSON object, such as {"id": 1}.');
  }
  return payload;
}

const options = {
  data: { type: 'string' },
  'event-id': { type: 'string' },
  channels: { type: 'string' },
  url: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, options);
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  const [app, eventType, ...extra] = positionals;
  if (app === undefined || eventType === undefined) {
    throw new UsageError('Missing <app> or <event-type>.');
  }
  if (extra.length > 0) {
    throw new UsageError(`Unexpected argument "${extra[0]}".`);
  }
  if (values.data === undefined) {
    throw new UsageError('Missing --data: pass the payload as JSON or as @FILE.');
  }

  const target = { url: resolveApiUrl(values.url, process.env), token: resolveToken(values.token, process.env) };
  const message = await callApi<{ id: string }>(target, 'POST', `/api/v1/app/${encodeURIComponent(app)}/msg`, {
    eventType,
    payload: readPayload(values.data),
    ...(values['event-id'] === undefined ? {} : { eventId: values['event-id'] }),
    ...(values.channels === undefined ? {} : { channels: listOption(values.channels) }),
  });
  process.stdout.write(`${message.id}\n`);
  return 0;
}

export const sendCommand: ToolCommand = { name: 'send', help, options, run };
