import { describe, expect, it } from '@jest/globals';
import { InvalidArgumentError, type InputRecord, type NewInputRecord, type StorageAdapter } from '@savepoint/core';
import type { SuiteContext } from '../suite-context.js';
import { HOSTILE_IDS } from './hostile-ids.js';

type InboxAdapter = StorageAdapter & Required<Pick<StorageAdapter, 'putInput' | 'takeInputs' | 'getInput'>>;

const BASE_TIME = Date.UTC(2025, 0, 15, 12, 0, 0);

function input(key: string, overrides: Partial<NewInputRecord> = {}): NewInputRecord {
  return { key, nodePath: 'research/agent/tool:approve', value: JSON.stringify({ ok: true, key }), createdAt: BASE_TIME, ...overrides };
}

/**
 * Takers race over the inbox while `puts` land; a last take sweeps what remains. Every input put must be
 * consumed exactly once overall, and `getInput` must name the taker that got it.
 */
async function raceTakers(takers: readonly InboxAdapter[], keys: readonly string[], putsDuring: readonly string[]): Promise<void> {
  const writer = takers[takers.length - 1]!;
  for (const key of keys) await writer.putInput('run-1', input(key));
  const rounds = await Promise.all([
    ...takers.flatMap((adapter, a) =>
      Array.from({ length: 4 }, (_, t) => adapter.takeInputs('run-1', `worker-${a}-${t}`).then((taken) => ({ taken }))),
    ),
    ...putsDuring.map((key) => writer.putInput('run-1', input(key)).then(() => ({ taken: [] as InputRecord[] }))),
  ]);
  const swept = await takers[0]!.takeInputs('run-1', 'sweeper');
  const taken = [...rounds.flatMap((round) => round.taken), ...swept];
  expect(taken.map((record) => record.key).sort()).toEqual([...keys, ...putsDuring].sort());
  for (const record of taken) {
    expect(record.consumedBy).not.toBeNull();
    expect(await takers[0]!.getInput('run-1', record.key)).toEqual(record);
  }
  expect(await writer.takeInputs('run-1', 'late')).toEqual([]);
}

/** The runtime's input inbox: `putInput` / `takeInputs` / `getInput`, when the adapter declares `inbox`. */
export function inputInboxTests(ctx: SuiteContext): void {
  if (!ctx.init.capabilities?.inbox) return;
  const adapter = () => ctx.adapter() as InboxAdapter;
  const keys = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);

  describe('input inbox', () => {
    it('stores an input once per key: a repeated key returns the first record untouched', async () => {
      const first = await adapter().putInput('run-1', input('key-1'));
      const expected: InputRecord = { runId: 'run-1', ...input('key-1'), consumedBy: null, consumedAt: null };
      expect(first).toEqual({ created: true, record: expected });
      const again = await adapter().putInput('run-1', input('key-1', { value: '"different"', nodePath: 'other', createdAt: BASE_TIME + 5 }));
      expect(again).toEqual({ created: false, record: expected });
      expect(await adapter().getInput('run-1', 'key-1')).toEqual(expected);
      // Keys are scoped to their run.
      expect((await adapter().putInput('run-2', input('key-1'))).created).toBe(true);
      expect(await adapter().getInput('run-1', 'missing')).toBeNull();
      expect(await adapter().getInput('run-3', 'key-1')).toBeNull();
    });

    it('concurrent puts of one key create it exactly once, and all of them answer with that record', async () => {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => adapter().putInput('run-1', input('key-1', { value: JSON.stringify({ attempt: i }) }))),
      );
      expect(answers.filter((answer) => answer.created)).toHaveLength(1);
      const winner = answers.find((answer) => answer.created)!.record;
      for (const answer of answers) expect(answer.record).toEqual(winner);
      expect(await adapter().getInput('run-1', 'key-1')).toEqual(winner);
    });

    it('takeInputs consumes what is unconsumed, oldest first, once; getInput still finds consumed inputs', async () => {
      await adapter().putInput('run-1', input('key-b', { createdAt: BASE_TIME + 20 }));
      await adapter().putInput('run-1', input('key-c', { createdAt: BASE_TIME + 10 }));
      await adapter().putInput('run-1', input('key-a', { createdAt: BASE_TIME + 20 }));
      await adapter().putInput('run-2', input('key-z'));
      const before = Date.now();
      const taken = await adapter().takeInputs('run-1', 'worker-a');
      expect(taken.map((record) => record.key)).toEqual(['key-c', 'key-a', 'key-b']);
      for (const record of taken) {
        expect(record).toMatchObject({ runId: 'run-1', consumedBy: 'worker-a' });
        expect(record.consumedAt).toBeGreaterThanOrEqual(before - 60_000);
        expect(await adapter().getInput('run-1', record.key)).toEqual(record);
      }
      expect(await adapter().takeInputs('run-1', 'worker-b')).toEqual([]);
      // A retried put of a consumed key is still the first record, consumed.
      expect(await adapter().putInput('run-1', input('key-a', { value: '"retry"' }))).toEqual({ created: false, record: taken[1] });
      await adapter().putInput('run-1', input('key-d'));
      expect((await adapter().takeInputs('run-1', 'worker-b')).map((record) => [record.key, record.consumedBy])).toEqual([['key-d', 'worker-b']]);
      expect((await adapter().getInput('run-2', 'key-z'))!.consumedBy).toBeNull();
      expect(await adapter().takeInputs('no-such-run', 'worker-a')).toEqual([]);
    });

    it('concurrent takers consume each input exactly once, while more inputs arrive', async () => {
      await raceTakers([adapter()], keys('early', 12), keys('late', 8));
    });

    if (ctx.init.capabilities?.multiProcess && ctx.init.createSibling) {
      it('takers on two adapter instances on one storage consume each input exactly once', async () => {
        await raceTakers([adapter(), (await ctx.sibling()) as InboxAdapter], keys('early', 12), keys('late', 8));
      });

      it('an input put through one instance is one record for the other', async () => {
        const sibling = (await ctx.sibling()) as InboxAdapter;
        const answers = await Promise.all([
          ...Array.from({ length: 5 }, (_, i) => adapter().putInput('run-1', input('key-1', { value: JSON.stringify({ main: i }) }))),
          ...Array.from({ length: 5 }, (_, i) => sibling.putInput('run-1', input('key-1', { value: JSON.stringify({ sibling: i }) }))),
        ]);
        expect(answers.filter((answer) => answer.created)).toHaveLength(1);
        expect(await sibling.getInput('run-1', 'key-1')).toEqual(answers.find((answer) => answer.created)!.record);
      });
    }

    it('refuses unsafe run ids and keys with InvalidArgumentError, storing nothing', async () => {
      for (const bad of HOSTILE_IDS) {
        await expect(adapter().putInput(bad, input('key-1'))).rejects.toThrow(InvalidArgumentError);
        await expect(adapter().putInput('run-1', input(bad))).rejects.toThrow(InvalidArgumentError);
        await expect(adapter().getInput(bad, 'key-1')).rejects.toThrow(InvalidArgumentError);
        await expect(adapter().getInput('run-1', bad)).rejects.toThrow(InvalidArgumentError);
        await expect(adapter().takeInputs(bad, 'worker-a')).rejects.toThrow(InvalidArgumentError);
      }
      await expect(adapter().putInput('run-1', input('key-1', { value: { ok: true } as never }))).rejects.toThrow(InvalidArgumentError);
      await expect(adapter().takeInputs('run-1', '')).rejects.toThrow(InvalidArgumentError);
      expect(await adapter().takeInputs('run-1', 'worker-a')).toEqual([]);
    });
  });
}
