import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { deleteKeys } from './redis-memory.js';

/** Default PostgreSQL database and Redis server of a scaled-mode run: the local services. */
export const defaultDatabaseUrl = 'postgres://postgres@127.0.0.1:5432/test';
export const defaultRedisUrl = 'redis://127.0.0.1:6379';

/** A PostgreSQL schema and a Redis key prefix that belong to one benchmark run. */
export interface ScaledBackends {
  /** Environment that points Hookline processes at the schema and the prefix. */
  env: Record<string, string>;
  schema: string;
  redisPrefix: string;
  /** Drops the schema and deletes the keys under the prefix. */
  cleanup(): Promise<void>;
}

/**
 * Creates a schema of its own in the PostgreSQL database at `databaseUrl` and picks a Redis
 * key prefix of its own, so a run does not read or leave behind another run's data.
 * Cleanup deletes only the keys under that prefix and never flushes the server.
 */
export async function prepareScaledBackends(databaseUrl: string, redisUrl: string): Promise<ScaledBackends> {
  const suffix = randomBytes(6).toString('hex');
  const schema = `hookline_bench_${suffix}`;
  const redisPrefix = `hookline-bench-${suffix}`;

  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`create schema ${schema}`);
  } finally {
    await client.end();
  }

  const url = new URL(databaseUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    env: { DATABASE_URL: url.toString(), REDIS_URL: redisUrl, HOOKLINE_REDIS_PREFIX: redisPrefix },
    schema,
    redisPrefix,
    async cleanup() {
      const dropper = new pg.Client({ connectionString: databaseUrl });
      await dropper.connect();
      try {
        await dropper.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await dropper.end();
      }
      await deleteKeysAt(redisUrl, `${redisPrefix}:`);
    },
  };
}

async function deleteKeysAt(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    await deleteKeys(redis, prefix);
  } finally {
    redis.disconnect();
  }
}
