import { readFileSync } from 'node:fs';
import { validateVerificationKey, type WebhookHeaders } from '../signing/index.js';
import { UsageError } from './api-client.js';
import { integerOption, parseCommandArgs, type ToolCommand } from './command.js';
import { diagnose } from './verify-diagnosis.js';

const help = `Usage: hookline verify --secret whsec_... --headers FILE --body FILE [options]

Checks a captured webhook request the way a Standard Webhooks library does. When it does
not verify, names the check that failed (missing header, timestamp outside the
tolerance, body changed after signing, different secret) and what to do about it.
Exits with 0 when the request verifies, 1 when it does not, 2 on a usage error.

Options:
  --secret KEY       The endpoint's signing secret (whsec_...), or for an ed25519 endpoint its
                     public key (whpk_...). Default: HOOKLINE_WEBHOOK_SECRET.
  --headers FILE     The request headers: "Name: value" lines (as curl -D or a proxy log writes
                     them; a request or status line and a blank line after the headers are
                     allowed), or a JSON object of header names to values.
  --body FILE        The request body, byte for byte as it arrived.
  --tolerance SECS   Largest allowed difference between webhook-timestamp and now, in seconds. Default 300.
  --now SECONDS      Unix time in seconds to verify at, such as the time the request was captured. Default: now.
  -h, --help         Print this help.`;

/** Reads headers from "Name: value" lines or a JSON object. */
export function parseHeaderFile(text: string): Record<string, string> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new UsageError(`Invalid --headers file: it starts with "{" but is not JSON (${error instanceof Error ? error.message : String(error)}).`);
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(' ') : String(value);
    }
    return headers;
  }

  const headers: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') {
      // A blank line after headers ends them, as in a raw HTTP message.
      if (Object.keys(headers).length > 0) {
        break;
      }
      continue;
    }
    if (index === 0 && /^(HTTP\/\d|[A-Z]+ \S+ HTTP\/\d)/.test(line)) {
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      throw new UsageError(`Invalid --headers file, line ${index + 1}: expected "Name: value", got ${JSON.stringify(line.slice(0, 80))}.`);
    }
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]} ${value}`;
  }
  return headers;
}

function readInput(option: string, path: string | undefined): Buffer {
  if (path === undefined) {
    throw new UsageError(`Missing --${option} FILE.`);
  }
  try {
    return readFileSync(path);
  } catch (error) {
    throw new UsageError(`Could not read --${option} file "${path}": ${error instanceof Error ? error.message : String(error)}.`);
  }
}

const options = {
  secret: { type: 'string' },
  headers: { type: 'string' },
  body: { type: 'string' },
  tolerance: { type: 'string' },
  now: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, options);
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  if (positionals.length > 0) {
    throw new UsageError(`Unexpected argument "${positionals[0]}".`);
  }
  const secret = values.secret ?? process.env.HOOKLINE_WEBHOOK_SECRET;
  if (secret === undefined || secret === '') {
    throw new UsageError('Missing --secret: pass the endpoint signing secret (whsec_...).');
  }
  const invalid = validateVerificationKey(secret);
  if (invalid !== undefined) {
    throw new UsageError(`Invalid --secret: ${invalid}`);
  }
  const headers: WebhookHeaders = parseHeaderFile(readInput('headers', values.headers).toString('utf8'));
  const body = readInput('body', values.body);
  const toleranceSeconds = integerOption('tolerance', values.tolerance, 0, 10 * 365 * 24 * 3600);
  const nowSeconds = integerOption('now', values.now, 0, 1e12);

  const diagnosis = diagnose(secret, headers, body, {
    ...(toleranceSeconds === undefined ? {} : { toleranceSeconds }),
    ...(nowSeconds === undefined ? {} : { nowSeconds }),
  });

  if (diagnosis.ok) {
    process.stdout.write(`OK: the request verifies (webhook-id ${diagnosis.msgId}, signed at ${new Date(diagnosis.timestampSeconds * 1000).toISOString()}).\n`);
    return 0;
  }
  process.stdout.write(`FAILED (${diagnosis.check}): ${diagnosis.title}.\n${diagnosis.detail}\nWhat to do: ${diagnosis.advice}\n`);
  return 1;
}

export const verifyCommand: ToolCommand = { name: 'verify', help, options, run };
