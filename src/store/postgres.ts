import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export interface PostgresOptions {
  /** Connections in the pool of this process. */
  poolSize: number;
  /** Schema to create and use instead of `public`, so tests can share one database. */
  schema?: string | undefined;
  /** Called when an idle pooled connection fails, for example when the server restarts. */
  onError?: (error: Error) => void;
}

const int8Oid = 20;
const numericOid = 1700;

// Times and counts are stored as bigint. They stay below 2^53, so numbers are exact.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === int8Oid || oid === numericOid) {
      return (value: string) => Number(value);
    }
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** Opens a PostgreSQL store through a connection pool. */
export async function openPostgres(url: string, options: PostgresOptions): Promise<{ db: Kysely<Database>; pool: pg.Pool }> {
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`Invalid PostgreSQL schema name "${schema}": use lower-case letters, digits and underscores.`);
  }

  if (schema !== undefined) {
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    try {
      await setup.query(`create schema if not exists ${schema}`);
    } catch (error) {
      // Two processes creating the schema at once can both pass "if not exists". The loser
      // gets a unique violation on the catalog, and the schema exists all the same.
      if ((error as { code?: string }).code !== '23505') {
        throw error;
      }
    } finally {
      await setup.end();
    }
  }

  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize,
    types,
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle connection that breaks emits 'error' on the pool; unhandled, it would end the process.
  pool.on('error', (error) => options.onError?.(error));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, pool };
}
