import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AdminToken {
  token: string;
  /** The file the token was read from or written to; undefined when it came from the environment. */
  file: string | undefined;
  generated: boolean;
}

/**
 * Returns the admin token: the configured one, else the one stored in the data folder,
 * else a new one written there with mode 0600.
 */
export function resolveAdminToken(configured: string | undefined, dataDir: string): AdminToken {
  if (configured !== undefined) {
    return { token: configured, file: undefined, generated: false };
  }

  const file = join(dataDir, 'admin-token');
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (token.length >= 24) {
      return { token, file, generated: false };
    }
    throw new Error(`The admin token file ${file} is shorter than 24 characters; delete it to generate a new token.`);
  }

  const token = `hkl_admin_${randomBytes(32).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { token, file, generated: true };
}
