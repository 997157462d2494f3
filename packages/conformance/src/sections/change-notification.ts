import { describe, expect, it } from '@jest/globals';
import { InvalidArgumentError, type StorageAdapter } from '@savepoint/core';
import { ChangeRecorder, messageOf } from '../change-recorder.js';
import type { SuiteContext } from '../suite-context.js';
import { HOSTILE_IDS } from './hostile-ids.js';

type NotifyAdapter = StorageAdapter & Required<Pick<StorageAdapter, 'subscribe' | 'publish'>>;

/**
 * `subscribe` / `publish`, when the adapter declares `notify`. Publishes go from `publisher` to
 * subscribers on `listener` (the same instance, or a sibling standing in for another process).
 */
function deliveryTests(name: string, instances: () => Promise<{ publisher: NotifyAdapter; listener: NotifyAdapter }>): void {
  it(`${name}: a publish reaches subscribers of its run and of *, not of other runs`, async () => {
    const { publisher, listener } = await instances();
    const run = new ChangeRecorder();
    const all = new ChangeRecorder();
    const otherRun = new ChangeRecorder();
    await listener.subscribe('run-1', run.listener);
    await listener.subscribe('*', all.listener);
    await listener.subscribe('run-3', otherRun.listener);
    await publisher.publish({ runId: 'run-2', kind: 'input', seq: 1 });
    await publisher.publish({ runId: 'run-1', kind: 'event', seq: 7 });
    await publisher.publish({ runId: 'run-3', kind: 'checkpoint', seq: 1 });
    expect(await run.waitFor(messageOf('run-1', 7))).toEqual({ runId: 'run-1', kind: 'event', seq: 7 });
    expect(await all.waitFor(messageOf('run-3', 1))).toEqual({ runId: 'run-3', kind: 'checkpoint', seq: 1 });
    expect(all.messages).toEqual([
      { runId: 'run-2', kind: 'input', seq: 1 },
      { runId: 'run-1', kind: 'event', seq: 7 },
      { runId: 'run-3', kind: 'checkpoint', seq: 1 },
    ]);
    // run-2 was published before run-1 on the same path: had it been delivered to run-1's subscriber, it would be here.
    expect(run.messages).toEqual([{ runId: 'run-1', kind: 'event', seq: 7 }]);
    await otherRun.waitFor(messageOf('run-3', 1));
    expect(otherRun.messages).toHaveLength(1);
  });

  it(`${name}: unsubscribe stops delivery to that listener only`, async () => {
    const { publisher, listener } = await instances();
    const dropped = new ChangeRecorder();
    const droppedAll = new ChangeRecorder();
    const kept = new ChangeRecorder();
    const unsubscribe = await listener.subscribe('run-1', dropped.listener);
    const unsubscribeAll = await listener.subscribe('*', droppedAll.listener);
    await listener.subscribe('run-1', kept.listener);
    await publisher.publish({ runId: 'run-1', kind: 'lease', seq: 1 });
    await dropped.waitFor(messageOf('run-1', 1));
    await droppedAll.waitFor(messageOf('run-1', 1));
    await unsubscribe();
    await unsubscribeAll();
    await unsubscribe();
    await publisher.publish({ runId: 'run-1', kind: 'lease', seq: 2 });
    await kept.waitFor(messageOf('run-1', 2));
    expect(dropped.messages).toEqual([{ runId: 'run-1', kind: 'lease', seq: 1 }]);
    expect(droppedAll.messages).toEqual([{ runId: 'run-1', kind: 'lease', seq: 1 }]);
  });
}

export function changeNotificationTests(ctx: SuiteContext): void {
  const notify = ctx.init.capabilities?.notify;
  if (notify === undefined) return;
  const adapter = () => ctx.adapter() as NotifyAdapter;

  describe('change notification', () => {
    deliveryTests('one instance', async () => ({ publisher: adapter(), listener: adapter() }));

    if (notify === 'cross-process' && ctx.init.createSibling) {
      deliveryTests('across instances', async () => ({ publisher: adapter(), listener: (await ctx.sibling()) as NotifyAdapter }));
    }

    it('refuses unsafe channels and run ids with InvalidArgumentError', async () => {
      for (const bad of HOSTILE_IDS) {
        if (bad !== '*') await expect(adapter().subscribe(bad, () => undefined)).rejects.toThrow(InvalidArgumentError);
        await expect(adapter().publish({ runId: bad, kind: 'event', seq: 1 })).rejects.toThrow(InvalidArgumentError);
      }
      await expect(adapter().publish({ runId: 'run-1', kind: 'nonsense' as never })).rejects.toThrow(InvalidArgumentError);
    });
  });
}
