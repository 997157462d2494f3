import { describe, expect, it } from '@jest/globals';
import type { StorageAdapter } from '@savepoint/core';
import { makeHeader } from '../fixtures.js';
import type { SuiteContext } from '../suite-context.js';

const BASE_TIME = Date.UTC(2025, 0, 15, 12, 0, 0);

/** Each contract method as the very first call on new storage, with what it must answer there. */
const FIRST_CALLS: ReadonlyArray<[string, (adapter: StorageAdapter) => Promise<void>]> = [
  ['getHead', async (a) => expect(await a.getHead('run-1')).toBeNull()],
  ['getHeader', async (a) => expect(await a.getHeader('missing')).toBeNull()],
  ['queryHeaders', async (a) => expect(await a.queryHeaders({ flowId: 'flow-a' })).toEqual([])],
  ['getBlobs', async (a) => expect(await a.getBlobs('run-1', ['h1'])).toEqual(new Map())],
  ['deleteHeaders', async (a) => expect(await a.deleteHeaders(['missing'])).toBe(0)],
  ['deleteBlobsExcept', async (a) => expect(await a.deleteBlobsExcept('run-1', new Set())).toBe(0)],
  [
    'putBlobs',
    async (a) => {
      await a.putBlobs('run-1', [{ hash: 'h1', data: 'one' }]);
      expect(await a.getBlobs('run-1', ['h1'])).toEqual(new Map([['h1', 'one']]));
    },
  ],
  [
    'putHeader',
    async (a) => {
      const header = makeHeader();
      await a.putHeader(header, { expectedHead: null });
      expect(await a.getHead('run-1')).toBe(header.id);
    },
  ],
  [
    'commitCheckpoint',
    async (a) => {
      if (!a.commitCheckpoint) return;
      const header = makeHeader();
      await a.commitCheckpoint('run-1', [{ hash: 'h1', data: 'one' }], header, { expectedHead: null });
      expect(await a.getHeader(header.id)).toEqual(header);
    },
  ],
  [
    'acquireLease',
    async (a) => {
      const lease = await a.acquireLease('run-1', 'worker', 60_000);
      expect(lease).toMatchObject({ runId: 'run-1', owner: 'worker' });
    },
  ],
  ['renewLease', async (a) => expect(await a.renewLease({ runId: 'run-1', owner: 'worker', token: 1, expiresAt: BASE_TIME }, 1_000)).toBeNull()],
  ['releaseLease', async (a) => a.releaseLease({ runId: 'run-1', owner: 'worker', token: 1, expiresAt: BASE_TIME })],
  [
    'appendEvents',
    async (a) => {
      if (!a.capabilities.events) return;
      const [appended] = await a.appendEvents!('run-1', [{ type: 'run_started', data: '{}', ts: BASE_TIME }]);
      expect(appended).toMatchObject({ runId: 'run-1', seq: 1 });
    },
  ],
  ['readEvents', async (a) => void (a.capabilities.events && expect(await a.readEvents!('run-1', 0)).toEqual([]))],
  [
    'putInput',
    async (a) => {
      if (!a.capabilities.inbox) return;
      const put = await a.putInput!('run-1', { key: 'k1', nodePath: 'approve', value: '{}', createdAt: BASE_TIME });
      expect(put.created).toBe(true);
    },
  ],
  ['takeInputs', async (a) => void (a.capabilities.inbox && expect(await a.takeInputs!('run-1', 'worker')).toEqual([]))],
  ['getInput', async (a) => void (a.capabilities.inbox && expect(await a.getInput!('run-1', 'k1')).toBeNull())],
];

/**
 * With `createFresh`, every contract method works as the first call on new storage whose `setup()` nobody
 * called, as on a deployment's first request (a backend creates its tables, directories or scripts itself).
 */
export function freshStorageTests(ctx: SuiteContext): void {
  if (!ctx.init.createFresh) return;

  describe('fresh storage (setup() never called)', () => {
    it.each(FIRST_CALLS.map(([name, call]) => [name, call] as const))('%s works as the first call', async (_name, call) => {
      await call(await ctx.fresh());
    });
  });
}
