import { describe, expect, it } from '@jest/globals';
import { RunLockedError } from '@savepoint/core';
import { sleep } from '../fixtures.js';
import type { SuiteContext } from '../suite-context.js';

const HOLDER_TTL = 60_000;
const SHORT_TTL = 40;

/** What a worker refused a run learns about the holder's lease (`leaseRemainingMs`, `RunLockedError.retryAfterMs`). */
export function leaseExpiryTests(ctx: SuiteContext): void {
  if (ctx.init.capabilities?.leases === false) return;
  describe('lease expiry seen by a refused worker', () => {
    it("RunLockedError.retryAfterMs is how long the holder's lease has left: 0 < retryAfterMs <= the holder's ttl", async () => {
      const store = ctx.store();
      await store.acquireLease('run-1', 'worker-a', HOLDER_TTL);
      // The refused worker asks for a longer ttl: only the holder's lease can bound the answer.
      const refused = await store.acquireLease('run-1', 'worker-b', 2 * HOLDER_TTL).catch((error: unknown) => error);
      expect(RunLockedError.isInstance(refused)).toBe(true);
      const { retryAfterMs } = refused as RunLockedError;
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(HOLDER_TTL);
    });

    it('leaseRemainingMs is null for a run never leased, a released lease and an expired one', async () => {
      const adapter = ctx.adapter();
      const store = ctx.store();
      expect(await adapter.leaseRemainingMs!('run-1')).toBeNull();
      const lease = await store.acquireLease('run-1', 'worker-a', HOLDER_TTL);
      const remaining = await adapter.leaseRemainingMs!('run-1');
      expect(remaining).toBeGreaterThan(0);
      expect(remaining).toBeLessThanOrEqual(HOLDER_TTL);
      await store.releaseLease(lease);
      expect(await adapter.leaseRemainingMs!('run-1')).toBeNull();
      await store.acquireLease('run-2', 'worker-a', SHORT_TTL);
      await sleep(SHORT_TTL * 3);
      expect(await adapter.leaseRemainingMs!('run-2')).toBeNull();
    });
  });
}
