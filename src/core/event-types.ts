import type { Page, PageRequest } from '../store/pagination.js';
import type { EventType } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';
import { ConflictError, NotFoundError } from './errors.js';

export interface EventTypeInput {
  name: string;
  description: string;
  schemas?: Record<string, unknown> | null | undefined;
  archived?: boolean | undefined;
  deprecated?: boolean | undefined;
  featureFlag?: string | null | undefined;
}

export type EventTypePatch = Partial<Omit<EventTypeInput, 'name'>>;

export class EventTypeService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  async get(name: string): Promise<EventType> {
    const eventType = await this.store.eventTypes.find(name);
    if (!eventType) {
      throw new NotFoundError('Event type', name);
    }
    return eventType;
  }

  /** Creates an event type. Creating an archived one with the same name brings it back. */
  async create(input: EventTypeInput): Promise<EventType> {
    const existing = await this.store.eventTypes.find(input.name);
    if (existing && !existing.archived) {
      throw new ConflictError(`An event type named "${input.name}" already exists.`);
    }
    const now = this.clock();
    const eventType: EventType = {
      name: input.name,
      description: input.description,
      schemas: input.schemas ?? null,
      archived: input.archived ?? false,
      deprecated: input.deprecated ?? false,
      featureFlag: input.featureFlag ?? null,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    if (existing) {
      await this.store.eventTypes.update(eventType);
    } else if (!(await this.store.eventTypes.insert(eventType))) {
      throw new ConflictError(`An event type named "${input.name}" already exists.`);
    }
    return eventType;
  }

  /** Inserts event types that do not exist yet and leaves existing ones as they are. */
  async seed(inputs: EventTypeInput[]): Promise<void> {
    const now = this.clock();
    for (const input of inputs) {
      await this.store.eventTypes.insertIfMissing({
        name: input.name,
        description: input.description,
        schemas: input.schemas ?? null,
        archived: false,
        deprecated: false,
        featureFlag: null,
        createdAt: now,
        updatedAt: now,
      });
    }
  }

  /** Replaces an event type (PUT); creates it when missing, as the Svix server does. */
  async update(name: string, input: Omit<EventTypeInput, 'name'>): Promise<{ eventType: EventType; created: boolean }> {
    let existing = await this.store.eventTypes.find(name);
    if (!existing) {
      const now = this.clock();
      const created: EventType = {
        name,
        description: input.description,
        schemas: input.schemas ?? null,
        archived: input.archived ?? false,
        deprecated: input.deprecated ?? false,
        featureFlag: input.featureFlag ?? null,
        createdAt: now,
        updatedAt: now,
      };
      if (await this.store.eventTypes.insert(created)) {
        return { eventType: created, created: true };
      }
      // A concurrent request created it since the lookup, so this one replaces it.
      existing = await this.get(name);
    }
    const eventType: EventType = {
      ...existing,
      description: input.description,
      schemas: input.schemas ?? null,
      archived: input.archived ?? false,
      deprecated: input.deprecated ?? false,
      featureFlag: input.featureFlag ?? null,
      updatedAt: this.clock(),
    };
    await this.store.eventTypes.update(eventType);
    return { eventType, created: false };
  }

  async patch(name: string, patch: EventTypePatch): Promise<EventType> {
    const existing = await this.get(name);
    const eventType: EventType = {
      ...existing,
      description: patch.description ?? existing.description,
      schemas: patch.schemas === undefined ? existing.schemas : patch.schemas,
      archived: patch.archived ?? existing.archived,
      deprecated: patch.deprecated ?? existing.deprecated,
      featureFlag: patch.featureFlag === undefined ? existing.featureFlag : patch.featureFlag,
      updatedAt: this.clock(),
    };
    await this.store.eventTypes.update(eventType);
    return eventType;
  }

  /** Archives an event type, or removes it for good with `expunge`. */
  async delete(name: string, expunge: boolean): Promise<void> {
    const existing = await this.get(name);
    if (expunge) {
      await this.store.eventTypes.delete(name);
      return;
    }
    await this.store.eventTypes.update({ ...existing, archived: true, updatedAt: this.clock() });
  }

  list(page: PageRequest, includeArchived: boolean): Promise<Page<EventType>> {
    return this.store.eventTypes.list(page, includeArchived);
  }
}
