import { createId } from '../store/ids.js';
import type { Page, PageRequest } from '../store/pagination.js';
import type { Application } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';
import { ConflictError, NotFoundError } from './errors.js';

export interface ApplicationInput {
  name: string;
  uid?: string | null | undefined;
  throttleRate?: number | null | undefined;
  metadata?: Record<string, string> | undefined;
}

export type ApplicationPatch = Partial<ApplicationInput>;

export class ApplicationService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /** Finds an application by id or uid, or throws NotFoundError. */
  async get(idOrUid: string): Promise<Application> {
    const application = await this.store.applications.findByIdOrUid(idOrUid);
    if (!application) {
      throw new NotFoundError('Application', idOrUid);
    }
    return application;
  }

  async find(idOrUid: string): Promise<Application | undefined> {
    return this.store.applications.findByIdOrUid(idOrUid);
  }

  /**
   * Creates an application. With `getIfExists`, an application whose uid is taken is
   * returned as it is, and `created` is false.
   */
  async create(input: ApplicationInput, getIfExists = false): Promise<{ application: Application; created: boolean }> {
    if (input.uid) {
      const existing = await this.store.applications.findByUid(input.uid);
      if (existing) {
        if (getIfExists) {
          return { application: existing, created: false };
        }
        throw new ConflictError(`An application with uid "${input.uid}" already exists.`);
      }
    }

    const now = this.clock();
    const application: Application = {
      id: createId('app', now),
      uid: input.uid ?? null,
      name: input.name,
      throttleRate: input.throttleRate ?? null,
      metadata: input.metadata ?? {},
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.store.applications.insert(application);
    } catch (error) {
      // Two requests with the same uid can race past the check above; the unique index decides.
      if (input.uid && isUniqueViolation(error)) {
        const winner = await this.store.applications.findByUid(input.uid);
        if (winner && getIfExists) {
          return { application: winner, created: false };
        }
        throw new ConflictError(`An application with uid "${input.uid}" already exists.`);
      }
      throw error;
    }
    return { application, created: true };
  }

  /** Replaces an application's fields (PUT). */
  async update(idOrUid: string, input: ApplicationInput): Promise<Application> {
    const current = await this.get(idOrUid);
    return this.save(current, {
      name: input.name,
      uid: input.uid ?? null,
      throttleRate: input.throttleRate ?? null,
      metadata: input.metadata ?? {},
    });
  }

  /** Changes only the given fields (PATCH). */
  async patch(idOrUid: string, patch: ApplicationPatch): Promise<Application> {
    const current = await this.get(idOrUid);
    return this.save(current, patch);
  }

  async delete(idOrUid: string): Promise<void> {
    const application = await this.get(idOrUid);
    await this.store.applications.deleteWithEverything(application.id);
  }

  list(page: PageRequest): Promise<Page<Application>> {
    return this.store.applications.list(page);
  }

  private async save(current: Application, changes: ApplicationPatch): Promise<Application> {
    if (changes.uid && changes.uid !== current.uid) {
      const holder = await this.store.applications.findByUid(changes.uid);
      if (holder && holder.id !== current.id) {
        throw new ConflictError(`An application with uid "${changes.uid}" already exists.`);
      }
    }
    const next: Application = {
      ...current,
      name: changes.name ?? current.name,
      uid: changes.uid === undefined ? current.uid : changes.uid,
      throttleRate: changes.throttleRate === undefined ? current.throttleRate : changes.throttleRate,
      metadata: changes.metadata ?? current.metadata,
      updatedAt: this.clock(),
    };
    await this.store.applications.update(next);
    return next;
  }
}

/** Tells whether a driver error is a unique constraint violation, on SQLite or PostgreSQL. */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) {
    return false;
  }
  const code = (error as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
