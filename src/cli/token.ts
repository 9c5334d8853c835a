import { apiOptionsHelp, callApi, resolveApiUrl, resolveToken, UsageError } from './api-client.js';
import { integerOption, parseCommandArgs, type ToolCommand } from './command.js';

const help = `Usage: hookline token create --app <app> [options]

Creates an application token and prints it on stdout, and the portal link with it on
stderr. The token reaches only that application: its API routes, such as the pull API
and the event stream, and the portal. It calls POST /api/v1/auth/app-portal-access/{app}
with the admin token, so the server must be running; the token expires as that route
decides (7 days unless --expiry says otherwise).

Options:
  --app APP          Application id (app_...) or uid. Required.
  --expiry SECONDS   Lifetime of the token in seconds, where the server supports choosing it.
${apiOptionsHelp}
                     Creating a token needs the admin token.
  -h, --help         Print this help.

Example:
  export HOOKLINE_TOKEN=$(hookline token create --app acme)`;

const options = {
  app: { type: 'string' },
  expiry: { type: 'string' },
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
  const [action, ...extra] = positionals;
  if (action !== 'create') {
    throw new UsageError(action === undefined ? 'Missing action: hookline token create --app <app>.' : `Unknown action "${action}"; the only one is create.`);
  }
  if (extra.length > 0) {
    throw new UsageError(`Unexpected argument "${extra[0]}".`);
  }
  if (values.app === undefined || values.app === '') {
    throw new UsageError('Missing --app: name the application by id or uid.');
  }
  const expiry = integerOption('expiry', values.expiry, 1, 10 * 365 * 24 * 3600);

  const target = { url: resolveApiUrl(values.url, process.env), token: resolveToken(values.token, process.env) };
  const access = await callApi<{ token: string; url: string }>(
    target,
    'POST',
    `/api/v1/auth/app-portal-access/${encodeURIComponent(values.app)}`,
    expiry === undefined ? {} : { expiry },
  );
  process.stdout.write(`${access.token}\n`);
  process.stderr.write(`Portal: ${access.url}\n`);
  return 0;
}

export const tokenCommand: ToolCommand = { name: 'token', help, options, run };
