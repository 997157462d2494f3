import { describe, expect, it } from '@jest/globals';
import { InvalidArgumentError, type EventRecord, type NewEventRecord, type StorageAdapter } from '@savepoint/core';
import type { SuiteContext } from '../suite-context.js';
import { HOSTILE_IDS } from './hostile-ids.js';

type EventLogAdapter = StorageAdapter & Required<Pick<StorageAdapter, 'appendEvents' | 'readEvents'>>;

const BASE_TS = Date.UTC(2025, 0, 15, 12, 0, 0);

/** An event whose data names who appended it, so a test can tell every event apart. */
function event(writer: string, i: number): NewEventRecord {
  return { type: 'stream_chunk', data: JSON.stringify({ writer, i }), ts: BASE_TS + i };
}

/** Several writers append `batches` calls of `size` events each, all at once; every seq is checked. */
async function raceAppends(adapters: readonly EventLogAdapter[], writersPerAdapter: number, size: number): Promise<void> {
  const calls = adapters.flatMap((adapter, a) =>
    Array.from({ length: writersPerAdapter }, (_, w) => {
      const writer = `${a}-${w}`;
      const events = Array.from({ length: size }, (_, i) => event(writer, i));
      return { events, appended: adapter.appendEvents('run-1', events) };
    }),
  );
  const results = await Promise.all(calls.map((call) => call.appended));
  const total = calls.length * size;
  // One call's events are consecutive and in the order given; together the calls cover 1..total once each.
  results.forEach((appended, c) => {
    expect(appended.map((e) => e.data)).toEqual(calls[c]!.events.map((e) => e.data));
    appended.forEach((e, i) => expect(e.seq).toBe(appended[0]!.seq + i));
  });
  const seqs = results.flat().map((e) => e.seq).sort((a, b) => a - b);
  expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  const bySeq = new Map(results.flat().map((e) => [e.seq, e]));
  for (const adapter of adapters) {
    const log = await adapter.readEvents('run-1', 0);
    expect(log).toEqual(seqs.map((seq) => bySeq.get(seq)));
  }
}

/** The runtime's event log: `appendEvents` / `readEvents`, when the adapter declares `events`. */
export function eventLogTests(ctx: SuiteContext): void {
  if (!ctx.init.capabilities?.events) return;
  const adapter = () => ctx.adapter() as EventLogAdapter;

  describe('event log', () => {
    it('numbers each run from 1, gap-free; one call gets consecutive seqs; records come back exactly', async () => {
      const datas = ['{"b": 1, "a": [1.0, -0, 1e21]}', '"emoji 🎉 and \u2028 separators"', 'null', '{"nested":{"x":"\\n"}}'];
      const first = await adapter().appendEvents('run-1', [
        { type: 'run_started', data: datas[0]!, ts: BASE_TS },
        { type: 'node_started', data: datas[1]!, ts: BASE_TS + 1 },
      ]);
      expect(await adapter().appendEvents('run-1', [])).toEqual([]);
      const other = await adapter().appendEvents('run-2', [{ type: 'run_started', data: '{}', ts: BASE_TS + 2 }]);
      const second = await adapter().appendEvents('run-1', [
        { type: 'node_completed', data: datas[2]!, ts: BASE_TS + 3 },
        { type: 'run_completed', data: datas[3]!, ts: BASE_TS + 4 },
      ]);
      expect(first).toEqual([
        { runId: 'run-1', seq: 1, type: 'run_started', data: datas[0], ts: BASE_TS },
        { runId: 'run-1', seq: 2, type: 'node_started', data: datas[1], ts: BASE_TS + 1 },
      ]);
      expect(other).toEqual([{ runId: 'run-2', seq: 1, type: 'run_started', data: '{}', ts: BASE_TS + 2 }]);
      expect(second.map((e) => e.seq)).toEqual([3, 4]);
      expect(await adapter().readEvents('run-1', 0)).toEqual([...first, ...second]);
      expect(await adapter().readEvents('run-2', 0)).toEqual(other);
    });

    it('reads the events after a seq, oldest first, at most limit', async () => {
      const appended: EventRecord[] = [];
      for (let i = 0; i < 5; i += 1) appended.push(...(await adapter().appendEvents('run-1', [event('w', 2 * i), event('w', 2 * i + 1)])));
      const seqs = async (after: number, limit?: number) => (await adapter().readEvents('run-1', after, limit)).map((e) => e.seq);
      expect(await seqs(0, 3)).toEqual([1, 2, 3]);
      expect(await seqs(3, 3)).toEqual([4, 5, 6]);
      expect(await seqs(8)).toEqual([9, 10]);
      expect(await seqs(9, 100)).toEqual([10]);
      expect(await seqs(10)).toEqual([]);
      expect(await seqs(1000)).toEqual([]);
      expect(await seqs(0, 0)).toEqual([]);
      expect(await adapter().readEvents('run-1', 4, 1)).toEqual([appended[4]]);
      expect(await adapter().readEvents('no-such-run', 0)).toEqual([]);
    });

    it('concurrent appends from many callers never share or skip a seq', async () => {
      await raceAppends([adapter()], 12, 3);
    });

    if (ctx.init.capabilities?.multiProcess && ctx.init.createSibling) {
      it('concurrent appends through two adapter instances on one storage never share or skip a seq', async () => {
        await raceAppends([adapter(), (await ctx.sibling()) as EventLogAdapter], 8, 2);
      });
    }

    const limit = ctx.init.maxEventsPerRun;
    if (limit !== undefined) {
      it(`keeps the newest ${limit} events of a run and never reuses a trimmed seq`, async () => {
        const total = limit + 7;
        for (let from = 0; from < total; from += 10) {
          const size = Math.min(10, total - from);
          await adapter().appendEvents('run-1', Array.from({ length: size }, (_, i) => event('w', from + i)));
        }
        const kept = await adapter().readEvents('run-1', 0);
        expect(kept.map((e) => e.seq)).toEqual(Array.from({ length: limit }, (_, i) => i + 8));
        expect(kept[0]!.data).toBe(event('w', 7).data);
        expect((await adapter().readEvents('run-1', 3, 2)).map((e) => e.seq)).toEqual([8, 9]);
        const [next] = await adapter().appendEvents('run-1', [event('w', total)]);
        expect(next!.seq).toBe(total + 1);
        expect((await adapter().readEvents('run-1', 0)).map((e) => e.seq)).toEqual(Array.from({ length: limit }, (_, i) => i + 9));
      });
    }

    it('refuses unsafe run ids and malformed arguments with InvalidArgumentError, storing nothing', async () => {
      for (const bad of HOSTILE_IDS) {
        await expect(adapter().appendEvents(bad, [event('w', 0)])).rejects.toThrow(InvalidArgumentError);
        await expect(adapter().readEvents(bad, 0)).rejects.toThrow(InvalidArgumentError);
      }
      await expect(adapter().appendEvents('run-1', [{ type: 'x', data: { not: 'text' } as never, ts: BASE_TS }])).rejects.toThrow(
        InvalidArgumentError,
      );
      await expect(adapter().readEvents('run-1', -1)).rejects.toThrow(InvalidArgumentError);
      await expect(adapter().readEvents('run-1', 0, -1)).rejects.toThrow(InvalidArgumentError);
      expect(await adapter().readEvents('run-1', 0)).toEqual([]);
    });
  });
}
