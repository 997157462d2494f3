import { beforeEach, describe, expect, it } from '@jest/globals';
import { MemoryAdapter } from '../../src/adapters/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import type { ChangeMessage } from '../../src/store/storage-adapter.js';

// The event log, inbox and notification of the reference adapter. The shared behaviour is also checked by
// @savepoint/conformance; these tests cover what only the memory adapter has (its clock, its option).
const event = (i: number) => ({ type: 'node_started', data: JSON.stringify({ i }), ts: 1000 + i });

describe('MemoryAdapter runtime methods', () => {
  let clock: number;
  let adapter: MemoryAdapter;
  beforeEach(() => {
    clock = 5000;
    adapter = new MemoryAdapter({ now: () => clock, maxEventsPerRun: 5 });
  });

  it('validates maxEventsPerRun and defaults it to 10 000', () => {
    expect(new MemoryAdapter().maxEventsPerRun).toBe(10_000);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new MemoryAdapter({ maxEventsPerRun: bad })).toThrow(InvalidArgumentError);
    }
  });

  it('numbers events from 1 per run, keeps the newest maxEventsPerRun and never reuses a seq', async () => {
    expect(await adapter.appendEvents('r1', [])).toEqual([]);
    const first = await adapter.appendEvents('r1', [event(1), event(2), event(3)]);
    expect(first.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(first[0]).toEqual({ runId: 'r1', seq: 1, type: 'node_started', data: '{"i":1}', ts: 1001 });
    expect((await adapter.appendEvents('r2', [event(9)]))[0]!.seq).toBe(1);
    // A batch bigger than the limit keeps only its own newest events.
    await adapter.appendEvents('r1', Array.from({ length: 7 }, (_, i) => event(4 + i)));
    expect((await adapter.readEvents('r1', 0)).map((e) => e.seq)).toEqual([6, 7, 8, 9, 10]);
    expect((await adapter.readEvents('r1', 2, 2)).map((e) => e.seq)).toEqual([6, 7]);
    expect((await adapter.readEvents('r1', 8)).map((e) => e.seq)).toEqual([9, 10]);
    expect(await adapter.readEvents('r1', 10)).toEqual([]);
    expect(await adapter.readEvents('r1', 0, 0)).toEqual([]);
    expect(await adapter.readEvents('none', 0)).toEqual([]);
  });

  it('stores copies of events and inputs', async () => {
    const [appended] = await adapter.appendEvents('r1', [event(1)]);
    appended!.data = 'changed';
    const [read] = await adapter.readEvents('r1', 0);
    read!.type = 'changed';
    expect((await adapter.readEvents('r1', 0))[0]).toEqual({ runId: 'r1', seq: 1, ...event(1) });

    const { record } = await adapter.putInput('r1', { key: 'k1', nodePath: 'a/b', value: '1', createdAt: 1 });
    record.value = 'changed';
    const [taken] = await adapter.takeInputs('r1', 'w1');
    taken!.consumedBy = 'someone else';
    expect(await adapter.getInput('r1', 'k1')).toEqual({
      runId: 'r1',
      key: 'k1',
      nodePath: 'a/b',
      value: '1',
      createdAt: 1,
      consumedBy: 'w1',
      consumedAt: 5000,
    });
  });

  it('takes inputs oldest first, by createdAt then key, stamped with its clock', async () => {
    await adapter.putInput('r1', { key: 'b', nodePath: 'p', value: '"b"', createdAt: 20 });
    await adapter.putInput('r1', { key: 'c', nodePath: 'p', value: '"c"', createdAt: 10 });
    await adapter.putInput('r1', { key: 'a', nodePath: 'p', value: '"a"', createdAt: 20 });
    clock = 7000;
    const taken = await adapter.takeInputs('r1', 'w1');
    expect(taken.map((i) => [i.key, i.consumedAt])).toEqual([['c', 7000], ['a', 7000], ['b', 7000]]);
    expect(await adapter.takeInputs('r1', 'w2')).toEqual([]);
    expect(await adapter.takeInputs('none', 'w2')).toEqual([]);
    expect(await adapter.getInput('none', 'a')).toBeNull();
  });

  it('refuses malformed arguments', async () => {
    await expect(adapter.appendEvents('r1', [{ type: '', data: '{}', ts: 1 }])).rejects.toThrow(InvalidArgumentError);
    await expect(adapter.appendEvents('r1', [{ type: 't', data: {} as never, ts: 1 }])).rejects.toThrow(InvalidArgumentError);
    await expect(adapter.appendEvents('r1', [{ type: 't', data: '{}', ts: Number.NaN }])).rejects.toThrow(InvalidArgumentError);
    await expect(adapter.appendEvents('r1', [null as never])).rejects.toThrow(InvalidArgumentError);
    await expect(adapter.appendEvents('r1', 'nope' as never)).rejects.toThrow(InvalidArgumentError);
    await expect(adapter.readEvents('r1', -1)).rejects.toThrow(/afterSeq/);
    await expect(adapter.readEvents('r1', 1.5)).rejects.toThrow(/afterSeq/);
    await expect(adapter.readEvents('r1', 0, -1)).rejects.toThrow(/limit/);
    await expect(adapter.putInput('r1', null as never)).rejects.toThrow(InvalidArgumentError);
    await expect(adapter.putInput('r1', { key: 'k', nodePath: '', value: '1', createdAt: 1 })).rejects.toThrow(/nodePath/);
    await expect(adapter.putInput('r1', { key: 'k', nodePath: 'p', value: 1 as never, createdAt: 1 })).rejects.toThrow(/value/);
    await expect(adapter.putInput('r1', { key: 'a/b', nodePath: 'p', value: '1', createdAt: 1 })).rejects.toThrow(/input key/);
    await expect(adapter.takeInputs('r1', '')).rejects.toThrow(/consumer/);
    await expect(adapter.getInput('../r1', 'k')).rejects.toThrow(/runId/);
    await expect(adapter.subscribe('a/b', () => undefined)).rejects.toThrow(/channel/);
    await expect(adapter.publish({ runId: '*', kind: 'event' })).rejects.toThrow(/runId/);
    await expect(adapter.publish({ runId: 'r1', kind: 'other' as never })).rejects.toThrow(/kind/);
    await expect(adapter.publish({ runId: 'r1', kind: 'event', seq: 0 })).rejects.toThrow(/seq/);
    await expect(adapter.publish(null as never)).rejects.toThrow(InvalidArgumentError);
  });

  it('notifies subscribers of the run and of *, before publish resolves', async () => {
    const heard: Array<[string, ChangeMessage]> = [];
    const offRun = await adapter.subscribe('r1', (m) => heard.push(['r1', m]));
    await adapter.subscribe('*', (m) => heard.push(['*', m]));
    await adapter.publish({ runId: 'r1', kind: 'event', seq: 3, extra: true } as ChangeMessage);
    await adapter.publish({ runId: 'r2', kind: 'input' });
    expect(heard).toEqual([
      ['r1', { runId: 'r1', kind: 'event', seq: 3 }],
      ['*', { runId: 'r1', kind: 'event', seq: 3 }],
      ['*', { runId: 'r2', kind: 'input' }],
    ]);
    await offRun();
    await adapter.publish({ runId: 'r1', kind: 'checkpoint' });
    expect(heard.at(-1)).toEqual(['*', { runId: 'r1', kind: 'checkpoint' }]);
    expect(heard).toHaveLength(4);
  });
});
