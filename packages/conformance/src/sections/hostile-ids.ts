import { describe, expect, it } from '@jest/globals';
import { InvalidArgumentError } from '@savepoint/core';
import { makeCheckpoint } from '../fixtures.js';
import type { SuiteContext } from '../suite-context.js';

/** Ids end up in paths, keys and SQL: the store must refuse these before any backend sees them. */
export const HOSTILE_IDS: readonly string[] = [
  '../x',
  '../../etc/passwd',
  'a/b',
  'a\\b',
  "'; DROP TABLE x; --",
  'x'.repeat(10 * 1024),
  '',
  '.',
  '..',
  'nul\u0000byte',
  'space in id',
  '*',
];

export function hostileIdTests(ctx: SuiteContext): void {
  describe('hostile ids', () => {
    it('refuses them as checkpoint, run and flow ids in save, and stores nothing', async () => {
      const store = ctx.store();
      for (const bad of HOSTILE_IDS) {
        for (const field of ['id', 'runId', 'flowId'] as const) {
          await expect(store.save(makeCheckpoint({ [field]: bad }))).rejects.toThrow(InvalidArgumentError);
        }
      }
      expect(await ctx.adapter().queryHeaders({})).toEqual([]);
      expect(await ctx.adapter().getHead('run-1')).toBeNull();
    });

    it('refuses them in every lookup', async () => {
      const store = ctx.store();
      await store.save(makeCheckpoint());
      for (const bad of HOSTILE_IDS) {
        await expect(store.load(bad)).rejects.toThrow(InvalidArgumentError);
        await expect(store.getChain(bad)).rejects.toThrow(InvalidArgumentError);
        await expect(store.delete(bad)).rejects.toThrow(InvalidArgumentError);
        await expect(store.deleteRun(bad)).rejects.toThrow(InvalidArgumentError);
        await expect(store.getHead(bad)).rejects.toThrow(InvalidArgumentError);
        await expect(store.listByRun(bad)).rejects.toThrow(InvalidArgumentError);
        await expect(store.listByFlow(bad)).rejects.toThrow(InvalidArgumentError);
        await expect(store.acquireLease(bad, 'worker-a', 1000)).rejects.toThrow(InvalidArgumentError);
      }
      expect(await store.listByRun('run-1')).toHaveLength(1);
    });
  });
}
