import { Redis } from 'ioredis';
import type { SharedState } from './contract.js';

// Refills a token bucket stored as a hash {tokens, updatedAt} and takes one token, in one
// atomic step on the server, using the server's clock so processes need not agree on time.
const takeTokenScript = `
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', key, 'tokens', 'updatedAt')
local tokens = tonumber(state[1]) or burst
local updatedAt = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - updatedAt) / 1000 * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'updatedAt', tostring(now))
redis.call('PEXPIRE', key, math.ceil(burst / rate * 1000) + 1000)
return wait
`;

// INCRBY that sets the expiry only when it creates the counter.
const incrementScript = `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if value == tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
`;

interface StateCommands {
  hooklineTakeToken(key: string, rate: number, burst: number): Promise<number>;
  hooklineIncrement(key: string, by: number, ttlMs: number): Promise<number>;
}

export interface RedisStateOptions {
  url: string;
  /** Prefix of every key, such as `hookline:state:`. */
  prefix: string;
}

/** Shared state in Redis, for the scaled mode, where many processes must agree. */
export class RedisState implements SharedState {
  readonly driver = 'redis';

  private readonly redis: Redis & StateCommands;

  constructor(options: RedisStateOptions) {
    const redis = new Redis(options.url, { keyPrefix: options.prefix, lazyConnect: false, maxRetriesPerRequest: 3 });
    redis.defineCommand('hooklineTakeToken', { numberOfKeys: 1, lua: takeTokenScript });
    redis.defineCommand('hooklineIncrement', { numberOfKeys: 1, lua: incrementScript });
    this.redis = redis as Redis & StateCommands;
  }

  /** The connection, to attach an error listener that logs. */
  get connection(): Redis {
    return this.redis;
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(key)) ?? undefined;
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    if (ttlMs === undefined) {
      await this.redis.set(key, value);
    } else {
      await this.redis.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)));
    }
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    const result = await this.redis.set(key, value, 'PX', Math.max(1, Math.round(ttlMs)), 'NX');
    return result === 'OK';
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(key);
  }

  async increment(key: string, by: number, ttlMs: number): Promise<number> {
    return Number(await this.redis.hooklineIncrement(key, by, Math.max(1, Math.round(ttlMs))));
  }

  async takeToken(key: string, ratePerSecond: number, burst: number): Promise<number> {
    return Number(await this.redis.hooklineTakeToken(key, ratePerSecond, burst));
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
