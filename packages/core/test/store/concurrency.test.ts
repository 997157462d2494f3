import { describe, expect, it } from '@jest/globals';
import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { BackendUnavailableError, CheckpointConflictError, InvalidArgumentError, LeaseLostError, RunLockedError } from '../../src/errors.js';
import { CheckpointStore } from '../../src/store/checkpoint-store.js';
import type { StorageAdapter } from '../../src/store/storage-adapter.js';
import { checkpoint, next } from './helpers.js';

describe('compare-and-set and leases', () => {
  it('a stale expectedHead is a CheckpointConflictError and writes no header', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const root = checkpoint();
    await store.save(root, { expectedHead: null });
    await expect(store.save(checkpoint(), { expectedHead: null })).rejects.toThrow(CheckpointConflictError);
    const a = next(root);
    const b = next(root);
    await store.save(a, { expectedHead: root.id });
    await expect(store.save(b, { expectedHead: root.id })).rejects.toThrow(CheckpointConflictError);
    expect(await store.getHead(root.runId)).toBe(a.id);
    // The same checkpoint again is a retry, not a conflict: it resolves and changes nothing.
    await expect(store.save(a)).resolves.toMatchObject({ id: a.id });
    expect(await store.getHead(root.runId)).toBe(a.id);
  });

  it('wraps leases: RunLockedError, LeaseLostError, fencing of saves', async () => {
    let clock = 1_000;
    const store = new CheckpointStore(new MemoryAdapter({ now: () => clock }));
    const root = checkpoint();
    const lease = await store.acquireLease(root.runId, 'worker-a', 100);
    await expect(store.acquireLease(root.runId, 'worker-b', 100)).rejects.toThrow(RunLockedError);
    await expect(store.save(root)).rejects.toThrow(RunLockedError);
    await store.save(root, { lease, expectedHead: null });
    const renewed = await store.renewLease(lease, 100);
    expect(renewed.token).toBe(lease.token);

    clock += 200; // worker-a stalls past its ttl, worker-b takes over
    const taken = await store.acquireLease(root.runId, 'worker-b', 100);
    expect(taken.token).toBeGreaterThan(lease.token);
    await expect(store.save(next(root), { lease: renewed })).rejects.toThrow(LeaseLostError);
    await expect(store.renewLease(renewed, 100)).rejects.toThrow(LeaseLostError);
    await store.releaseLease(renewed); // stale: no effect
    await expect(store.acquireLease(root.runId, 'worker-c', 100)).rejects.toThrow(RunLockedError);
    await store.save(next(root), { lease: taken });
    await store.releaseLease(taken);
    await expect(store.acquireLease(root.runId, 'worker-c', 100)).resolves.toMatchObject({ owner: 'worker-c' });

    await expect(store.save(next(root), { lease: { ...taken, runId: 'other' } })).rejects.toThrow(InvalidArgumentError);
    await expect(store.acquireLease(root.runId, '', 100)).rejects.toThrow(InvalidArgumentError);
    await expect(store.acquireLease(root.runId, 'x', 0)).rejects.toThrow(InvalidArgumentError);
    await expect(store.renewLease(taken, Number.NaN)).rejects.toThrow(InvalidArgumentError);
  });
});

/** An adapter offering the optional one-commit write (here simply the two calls), counting its uses. */
class OneCommitMemory extends MemoryAdapter {
  commits = 0;

  async commitCheckpoint(...[runId, blobs, header, options]: Parameters<NonNullable<StorageAdapter['commitCheckpoint']>>): Promise<void> {
    this.commits += 1;
    await this.putBlobs(runId, blobs);
    await this.putHeader(header, options);
  }
}

describe('the one-commit write', () => {
  it('is used instead of putBlobs + putHeader when the adapter has it', async () => {
    const adapter = new OneCommitMemory();
    const called: string[] = [];
    const spied = new Proxy(adapter, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          called.push(String(prop));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const store = new CheckpointStore(spied);
    const root = checkpoint();
    await store.save(root, { expectedHead: null });
    const child = next(root);
    await store.save(child, { expectedHead: root.id });
    await expect(store.save(next(root), { expectedHead: root.id })).rejects.toThrow(CheckpointConflictError);
    expect(adapter.commits).toBe(3);
    expect(called).not.toContain('putBlobs');
    expect(called).not.toContain('putHeader');
    expect(await new CheckpointStore(adapter).load(child.id)).toEqual(child);
  });
});

describe('a header write whose answer was lost', () => {
  type Write = 'putHeader' | 'commitCheckpoint';

  /** Commits, then fails as a dropped connection (or a resent command) would. */
  function losingReplies(inner: OneCommitMemory, write: Write, failure: () => Error): StorageAdapter {
    return new Proxy(inner, {
      get(target, prop, receiver) {
        // Without the one-commit write, the store falls back to putBlobs + putHeader.
        if (prop === 'commitCheckpoint' && write === 'putHeader') return undefined;
        if (prop !== write) return Reflect.get(target, prop, receiver);
        return async (...args: unknown[]) => {
          await (target[write] as (...a: unknown[]) => Promise<void>).apply(target, args);
          throw failure();
        };
      },
    });
  }

  describe.each<Write>(['putHeader', 'commitCheckpoint'])('through %s', (write) => {
    it.each([
      ['the connection dropped after the commit', () => new BackendUnavailableError('connection reset')],
      ['the client resent the command', () => new CheckpointConflictError('duplicate id')],
    ])('counts as committed when %s', async (_case, failure) => {
      const memory = new OneCommitMemory();
      const store = new CheckpointStore(losingReplies(memory, write, failure));
      const cp = checkpoint();
      await expect(store.save(cp, { expectedHead: null })).resolves.toMatchObject({ id: cp.id });
      expect(await memory.getHead(cp.runId)).toBe(cp.id);
      expect(memory.commits).toBe(write === 'commitCheckpoint' ? 1 : 0);
    });

    it('still reports a conflict when the stored header with that id is another one', async () => {
      const memory = new OneCommitMemory();
      const store = new CheckpointStore(losingReplies(memory, write, () => new Error('not reached')));
      const cp = checkpoint();
      await new CheckpointStore(memory).save(cp);
      const impostor = { ...cp, metadata: { other: true } };
      await expect(store.save(impostor)).rejects.toThrow(CheckpointConflictError);
    });
  });
});

describe('validation before the adapter is touched', () => {
  const BAD_IDS = ['../x', 'a/b', "'; DROP TABLE checkpoints; --", 'x'.repeat(10 * 1024), '', '..', 'a b', 'é'];

  function untouchable() {
    const calls: string[] = [];
    const adapter = new Proxy(new MemoryAdapter(), {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function' || prop === 'setup') return value;
        return (...args: unknown[]) => {
          calls.push(String(prop));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as StorageAdapter;
    return { adapter, calls };
  }

  it.each(BAD_IDS)('refuses the id %j everywhere with InvalidArgumentError', async (bad) => {
    const { adapter, calls } = untouchable();
    const store = new CheckpointStore(adapter);
    const attempts: Array<() => Promise<unknown>> = [
      () => store.save(checkpoint({ id: bad })),
      () => store.save(checkpoint({ runId: bad })),
      () => store.save(checkpoint({ flowId: bad })),
      () => store.save(checkpoint({ tenantId: bad })),
      () => store.save(checkpoint({ workflowId: bad })),
      () => store.save(checkpoint({ parentCheckpointId: bad, seq: 1 })),
      () => store.save(checkpoint(), { expectedHead: bad }),
      () => store.load(bad),
      () => store.load('ok', { tenantId: bad }),
      () => store.update(bad, {}),
      () => store.delete(bad),
      () => store.deleteRun(bad),
      () => store.listByFlow(bad),
      () => store.listByFlow('ok', { beforeId: bad }),
      () => store.listByFlow('ok', { tenantId: bad }),
      () => store.listByRun(bad),
      () => store.getHead(bad),
      () => store.getLatest({ runId: bad }),
      () => store.getLatest({ flowId: bad }),
      () => store.getLatest({ tenantId: bad }),
      () => store.getChain(bad),
      () => store.getChain('ok', { tenantId: bad }),
      () => store.listPendingInput({ flowId: bad }),
      () => store.listPendingInput({ tenantId: bad }),
      () => store.cleanup({ flowId: bad }),
      () => store.acquireLease(bad, 'owner', 1000),
      () => store.renewLease({ runId: bad, owner: 'o', token: 1, expiresAt: 0 }, 1000),
      () => store.releaseLease({ runId: bad, owner: 'o', token: 1, expiresAt: 0 }),
    ];
    for (const attempt of attempts) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(InvalidArgumentError.isInstance(error)).toBe(true);
    }
    expect(calls).toEqual([]);
  });

  it('validates the checkpoint with the zod model and reports the issues', async () => {
    const store = new CheckpointStore(new MemoryAdapter());
    const bad = { ...checkpoint(), seq: -1, status: 'weird', createdAt: 'yesterday' } as never;
    const error = (await store.save(bad).catch((e: unknown) => e)) as InvalidArgumentError & { issues: Array<{ path: unknown[] }> };
    expect(InvalidArgumentError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/seq/);
    expect(error.issues.map((i) => i.path.join('.'))).toEqual(expect.arrayContaining(['seq', 'status', 'createdAt']));
    const many = { ...checkpoint(), nodeStates: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`n${i}`, {}])) } as never;
    await expect(store.save(many)).rejects.toThrow(/more\)/);
  });

  it('sets the adapter up once, lazily, and retries a failed setup', async () => {
    let calls = 0;
    const adapter = new MemoryAdapter();
    adapter.setup = async () => {
      calls += 1;
      if (calls === 1) throw new Error('db down');
    };
    const store = new CheckpointStore(adapter);
    await expect(store.getHead('r')).rejects.toThrow('db down');
    await store.getHead('r');
    await store.setup();
    await store.listByRun('r');
    expect(calls).toBe(2);
  });

  it('refuses a non-adapter and bad tuning', () => {
    expect(() => new CheckpointStore({} as never)).toThrow(InvalidArgumentError);
    expect(() => new CheckpointStore(new MemoryAdapter(), { tuning: { leafSize: 3 } })).toThrow(InvalidArgumentError);
  });
});
