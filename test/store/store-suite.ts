import { describe, type TestContext } from 'node:test';
import { createStore, type Store } from '../../src/store/store.js';
import { storeDrivers, type TestStore } from '../helpers/store.js';

export interface StoreCase {
  store: Store;
  testStore: TestStore;
}

/**
 * Runs `body` once per store driver, inside a describe block named after the driver.
 * A driver whose service is missing is reported as skipped with the reason, except
 * under CI=true, where it fails.
 */
export function describeEveryStore(name: string, body: (open: () => Promise<StoreCase>) => void): void {
  for (const driver of storeDrivers) {
    describe(`${name} on ${driver.name}`, async () => {
      const reason = await driver.unavailable();
      if (reason !== undefined) {
        describe(`skipped: ${reason}`, { skip: reason }, () => {});
        return;
      }
      body(async () => {
        const testStore = await driver.create();
        return { store: createStore(testStore.db, testStore.dialect), testStore };
      });
    });
  }
}

/** Opens a store for one test and destroys it when the test ends. */
export async function withStore(open: () => Promise<StoreCase>, context: TestContext): Promise<Store> {
  const opened = await open();
  context.after(() => opened.testStore.destroy());
  return opened.store;
}
