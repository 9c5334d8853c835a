import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { validateVerificationKey } from '../signing/index.js';
import { UsageError } from './api-client.js';
import { integerOption, parseCommandArgs, type ToolCommand } from './command.js';
import { diagnose } from './verify-diagnosis.js';

const help = `Usage: hookline receive [options]

Runs a local webhook receiver for debugging: it prints each request it receives (method,
path, webhook-id, the verification result and the body) and answers it. With a secret,
it verifies each request as a Standard Webhooks library does and names the failed check.
Stop it with Ctrl-C.

Options:
  --port N            TCP port to listen on. Default 9000.
  --host ADDRESS      Address to listen on. Default 127.0.0.1.
  --secret KEY        The endpoint's signing secret (whsec_...), or for an ed25519 endpoint its
                      public key (whpk_...), to verify with. Default: HOOKLINE_WEBHOOK_SECRET;
                      without one, requests are printed unverified.
  --status CODE       Status to answer verified (or unverified) requests with, from 200 to 599,
                      such as 500 or 503 to watch Hookline retry. Default 204.
  --tolerance SECS    Largest allowed difference between webhook-timestamp and now, in seconds. Default 300.
  -h, --help          Print this help.

Requests that fail verification get 401 with the reason as the body.`;

/** Largest request body read, in bytes; larger ones get 413. */
const maxBodyBytes = 5 * 1024 * 1024;

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) {
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function formatBody(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

interface ReceiveOptions {
  secret: string | undefined;
  status: number;
  toleranceSeconds: number;
}

async function handle(options: ReceiveOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readBody(request);
  const time = new Date().toISOString();
  const id = request.headers['webhook-id'] ?? '(no webhook-id)';
  if (body === undefined) {
    process.stdout.write(`${time}  ${request.method} ${request.url}  ${String(id)}  body larger than ${maxBodyBytes} bytes -> 413\n`);
    response.writeHead(413, { connection: 'close' }).end();
    return;
  }

  let status = options.status;
  let verdict = 'not verified (no --secret)';
  let explanation = '';
  if (options.secret !== undefined) {
    const diagnosis = diagnose(options.secret, request.headers, body, { toleranceSeconds: options.toleranceSeconds });
    if (diagnosis.ok) {
      verdict = 'verified';
    } else {
      status = 401;
      verdict = `FAILED ${diagnosis.check}`;
      explanation = `${diagnosis.title}. ${diagnosis.detail}\nWhat to do: ${diagnosis.advice}\n`;
    }
  }

  process.stdout.write(`${time}  ${request.method} ${request.url}  ${String(id)}  ${verdict} -> ${status}\n${explanation}${formatBody(body)}\n\n`);
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(explanation);
}

const commandOptions = {
  port: { type: 'string' },
  host: { type: 'string' },
  secret: { type: 'string' },
  status: { type: 'string' },
  tolerance: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, commandOptions);
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(`Unexpected argument "${positionals[0]}".`);
  }
  const secret = values.secret ?? process.env.HOOKLINE_WEBHOOK_SECRET;
  if (secret !== undefined) {
    const invalid = validateVerificationKey(secret);
    if (invalid !== undefined) {
      throw new UsageError(`Invalid --secret: ${invalid}`);
    }
  }
  const options: ReceiveOptions = {
    secret,
    status: integerOption('status', values.status, 200, 599) ?? 204,
    toleranceSeconds: integerOption('tolerance', values.tolerance, 0, 10 * 365 * 24 * 3600) ?? 300,
  };
  const port = integerOption('port', values.port, 0, 65_535) ?? 9000;
  const host = values.host ?? '127.0.0.1';

  const server = createServer((request, response) => {
    handle(options, request, response).catch((error: unknown) => {
      process.stderr.write(`hookline receive: failed to handle ${request.method} ${request.url}: ${String(error)}\n`);
      if (!response.headersSent) {
        response.writeHead(500).end();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const shown = typeof address === 'object' && address !== null ? `http://${host.includes(':') ? `[${host}]` : host}:${address.port}` : String(address);
  process.stdout.write(`Listening on ${shown}; ${secret === undefined ? 'requests are not verified (no --secret)' : 'verifying with the given secret'}\n`);

  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

export const receiveCommand: ToolCommand = { name: 'receive', help, options: commandOptions, run };
