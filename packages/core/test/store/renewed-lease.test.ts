import { describe, expect, it } from '@jest/globals';
import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { RenewedLease } from '../../src/store/renewed-lease.js';
import type { Lease, StorageAdapter } from '../../src/store/storage-adapter.js';

/** A memory adapter whose renewals answer from a script (then normally), counting every call. */
function scripted(answers: Array<'fail' | 'lost'>) {
  const inner = new MemoryAdapter();
  const calls: string[] = [];
  const adapter: StorageAdapter = Object.create(inner);
  adapter.renewLease = async (lease: Lease, ttlMs: number) => {
    const answer = answers.shift();
    calls.push(answer ?? 'renewed');
    if (answer === 'fail') throw new Error('connection reset');
    if (answer === 'lost') return null;
    return inner.renewLease(lease, ttlMs);
  };
  return { adapter, calls };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !condition(); i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}

describe('RenewedLease', () => {
  it('retries a renewal that failed at the next tick and keeps the lease', async () => {
    const { adapter, calls } = scripted(['fail']);
    const lease = (await RenewedLease.acquire(adapter, 'run-1', 'gc', 30))!;
    await until(() => calls.length >= 2);
    expect(calls.slice(0, 2)).toEqual(['fail', 'renewed']);
    expect(await lease.confirm()).toBe(true);
    await lease.release();
  });

  it('stops renewing once the lease is lost; confirm then answers false without asking the adapter', async () => {
    const { adapter, calls } = scripted(['lost']);
    const lease = (await RenewedLease.acquire(adapter, 'run-1', 'gc', 30))!;
    await until(() => calls.length >= 1);
    expect(await lease.confirm()).toBe(false);
    expect(calls).toEqual(['lost']);
    await lease.release();
  });

  it('confirm fails on a backend error: an unconfirmed lease must not be acted on', async () => {
    const { adapter } = scripted(['fail']);
    const lease = (await RenewedLease.acquire(adapter, 'run-1', 'gc', 60_000))!;
    expect(await lease.confirm()).toBe(false);
    await lease.release();
  });

  it('is null when another owner holds the run', async () => {
    const adapter = new MemoryAdapter();
    await adapter.acquireLease('run-1', 'worker', 60_000);
    expect(await RenewedLease.acquire(adapter, 'run-1', 'gc', 5_000)).toBeNull();
  });
});
