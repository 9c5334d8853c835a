import { readFileSync } from 'node:fs';

/** Hookline's version from package.json, which sits two folders above both src/app and dist/app. */
export const version: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
