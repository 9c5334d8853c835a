import type { Kysely } from 'kysely';
import type { Dialect } from './dialect.js';
import { GroupCommitter } from './group-commit.js';
import { ApplicationRepository } from './repositories/applications.js';
import { AttemptStatRepository } from './repositories/attempt-stats.js';
import { AttemptRepository } from './repositories/attempts.js';
import { DeliveryRepository } from './repositories/deliveries.js';
import { EndpointHealthRepository } from './repositories/endpoint-health.js';
import { EndpointRepository } from './repositories/endpoints.js';
import { EventTypeRepository } from './repositories/event-types.js';
import { IdempotencyKeyRepository } from './repositories/idempotency-keys.js';
import { MessageStreamRepository } from './repositories/message-stream.js';
import { MessageRepository } from './repositories/messages.js';
import { RetentionRepository, type SqlitePragmas } from './repositories/retention.js';
import { TokenRepository } from './repositories/tokens.js';
import { TrapRepository } from './repositories/traps.js';
import type { Database } from './schema.js';
import type { SecretCipher } from './secret-cipher.js';

/** The database and one repository per table group. */
export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /**
   * Runs work in a transaction shared with the other work submitted in the same turn of the
   * event loop, and resolves after that transaction commits (see GroupCommitter).
   */
  readonly groupCommit: GroupCommitter;
  readonly applications: ApplicationRepository;
  readonly eventTypes: EventTypeRepository;
  readonly endpoints: EndpointRepository;
  readonly messages: MessageRepository;
  readonly messageStream: MessageStreamRepository;
  readonly deliveries: DeliveryRepository;
  readonly attempts: AttemptRepository;
  readonly tokens: TokenRepository;
  readonly idempotencyKeys: IdempotencyKeyRepository;
  readonly traps: TrapRepository;
  readonly endpointHealth: EndpointHealthRepository;
  readonly attemptStats: AttemptStatRepository;
  readonly retention: RetentionRepository;
  /** Closes the connections. */
  destroy(): Promise<void>;
}

/** Most units of work in one group-commit transaction, by dialect. */
const sqliteGroupSize = 100;
const postgresGroupSize = 8;

export interface StoreOptions {
  /** Encrypts signing secrets at rest; without it they are stored as plain text. */
  cipher?: SecretCipher | undefined;
  /** The better-sqlite3 connection under `db`, which the retention job uses to shrink the file. */
  sqlite?: SqlitePragmas | undefined;
}

export function createStore(db: Kysely<Database>, dialect: Dialect, options: StoreOptions = {}): Store {
  // SQLite runs a group's statements back to back in microseconds. PostgreSQL makes each a
  // round trip, so smaller groups let several run at once on the pool's connections.
  const groupCommit = new GroupCommitter(db, dialect === 'postgres' ? postgresGroupSize : sqliteGroupSize);
  return {
    db,
    dialect,
    groupCommit,
    applications: new ApplicationRepository(db),
    eventTypes: new EventTypeRepository(db),
    endpoints: new EndpointRepository(db, options.cipher),
    messages: new MessageRepository(db),
    messageStream: new MessageStreamRepository(db, dialect),
    deliveries: new DeliveryRepository(db, groupCommit),
    attempts: new AttemptRepository(db),
    tokens: new TokenRepository(db),
    idempotencyKeys: new IdempotencyKeyRepository(db, options.cipher),
    traps: new TrapRepository(db),
    endpointHealth: new EndpointHealthRepository(db),
    attemptStats: new AttemptStatRepository(db),
    retention: new RetentionRepository(db, dialect, options.sqlite),
    destroy: () => db.destroy(),
  };
}
