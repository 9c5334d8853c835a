import type { Kysely } from 'kysely';
import type { Dialect } from './dialect.js';
import { GroupCommitter } from './group-commit.js';
import { ApplicationRepository } from './repositories/applications.js';
import { AttemptRepository } from './repositories/attempts.js';
import { DeliveryRepository } from './repositories/deliveries.js';
import { EndpointRepository } from './repositories/endpoints.js';
import { EventTypeRepository } from './repositories/event-types.js';
import { IdempotencyKeyRepository } from './repositories/idempotency-keys.js';
import { MessageRepository } from './repositories/messages.js';
import { TokenRepository } from './repositories/tokens.js';
import { TrapRepository } from './repositories/traps.js';
import type { Database } from './schema.js';

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
  readonly deliveries: DeliveryRepository;
  readonly attempts: AttemptRepository;
  readonly tokens: TokenRepository;
  readonly idempotencyKeys: IdempotencyKeyRepository;
  readonly traps: TrapRepository;
  /** Closes the connections. */
  destroy(): Promise<void>;
}

export function createStore(db: Kysely<Database>, dialect: Dialect): Store {
  const groupCommit = new GroupCommitter(db);
  return {
    db,
    dialect,
    groupCommit,
    applications: new ApplicationRepository(db),
    eventTypes: new EventTypeRepository(db),
    endpoints: new EndpointRepository(db),
    messages: new MessageRepository(db),
    deliveries: new DeliveryRepository(db, groupCommit),
    attempts: new AttemptRepository(db),
    tokens: new TokenRepository(db),
    idempotencyKeys: new IdempotencyKeyRepository(db),
    traps: new TrapRepository(db),
    destroy: () => db.destroy(),
  };
}
