import { afterEach, beforeEach, describe } from '@jest/globals';
import { CheckpointStore, type CheckpointStoreOptions, type StorageAdapter } from '@savepoint/core';
import type { ConformanceInitializer } from './conformance-initializer.js';
import { adapterContractTests } from './sections/adapter-contract.js';
import { blobIntegrityTests } from './sections/blob-integrity.js';
import { changeNotificationTests } from './sections/change-notification.js';
import { concurrencyAndLeaseTests } from './sections/concurrency-and-leases.js';
import { eventLogTests } from './sections/event-log.js';
import { freshStorageTests } from './sections/fresh-storage.js';
import { headerTamperingTests } from './sections/header-tampering.js';
import { hostileIdTests } from './sections/hostile-ids.js';
import { inputInboxTests } from './sections/input-inbox.js';
import { leaseExpiryTests } from './sections/lease-expiry.js';
import { rawStorageSecretTests } from './sections/raw-storage-secrets.js';
import { retentionTests } from './sections/retention.js';
import { storeQueryTests } from './sections/store-queries.js';
import { storeRoundTripTests } from './sections/store-round-trip.js';
import type { SuiteContext } from './suite-context.js';

/**
 * Registers the Savepoint storage conformance suite as a jest `describe` block. Call it at the top
 * level of a test file; every test gets a fresh adapter from `init.create()`.
 */
export function runConformanceSuite<A extends StorageAdapter>(init: ConformanceInitializer<A>): void {
  describe(`savepoint conformance: ${init.name}`, () => {
    let current: A | undefined;
    let siblings: A[] = [];
    let fresh: A[] = [];

    beforeEach(async () => {
      current = await init.create();
    });

    afterEach(async () => {
      const adapter = current;
      current = undefined;
      const opened = siblings;
      siblings = [];
      for (const sibling of opened) await sibling.close?.();
      const created = fresh;
      fresh = [];
      for (const extra of adapter === undefined ? created : [...created, adapter]) {
        if (init.destroy) await init.destroy(extra);
        else await extra.close?.();
      }
    });

    const ctx: SuiteContext<A> = {
      init,
      adapter() {
        if (current === undefined) throw new Error('The adapter exists only while a conformance test runs.');
        return current;
      },
      store(adapter?: StorageAdapter, options?: CheckpointStoreOptions) {
        return new CheckpointStore(adapter ?? this.adapter(), options);
      },
      async sibling() {
        if (!init.createSibling) throw new Error(`The initializer ${init.name} has no createSibling.`);
        const sibling = await init.createSibling(this.adapter());
        siblings.push(sibling);
        return sibling;
      },
      async fresh() {
        if (!init.createFresh) throw new Error(`The initializer ${init.name} has no createFresh.`);
        const adapter = await init.createFresh();
        fresh.push(adapter);
        return adapter;
      },
    };
    const shared = ctx as unknown as SuiteContext;

    adapterContractTests(shared);
    storeRoundTripTests(shared);
    storeQueryTests(shared);
    retentionTests(shared);
    blobIntegrityTests(shared);
    headerTamperingTests(shared);
    concurrencyAndLeaseTests(shared);
    hostileIdTests(shared);
    eventLogTests(shared);
    inputInboxTests(shared);
    changeNotificationTests(shared);
    rawStorageSecretTests(shared);
    freshStorageTests(shared);
    leaseExpiryTests(shared);
  });
}
