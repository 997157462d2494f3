// Loud durability (issue 9 §3): bounded retries of transient checkpoint write failures, and warnings and
// durability failures reported to a logger. Runnable against any StorageAdapter: core runs it with
// MemoryAdapter, tests/invariants with the embedded backends.
import { describe, expect, it, jest } from '@jest/globals';
import {
  BackendUnavailableError,
  CheckpointWriteError,
  Flow,
  FunctionNode,
  LeaseLostError,
  NotFoundError,
  RunLockedError,
  Workflow,
  type Logger,
  type Node,
  type StorageAdapter,
} from '../../src/index.js';
import { instrument, useBackend, type SuiteBackend } from '../support/suite-harness.js';

/** a → b → c, each returning its input plus one; `calls` counts executions. */
function steps(calls: Record<string, number>): Node[] {
  return ['a', 'b', 'c'].map(
    (id, i, ids) =>
      new FunctionNode<number, number>({
        id,
        dependsOn: i === 0 ? [] : [ids[i - 1]!],
        run: (n) => {
          calls[id] = (calls[id] ?? 0) + 1;
          return n + 1;
        },
      }),
  );
}

/** a → b, where b fails on its first execution: the run ends `failure` with a head to resume. */
function failingOnce(calls: Record<string, number>): Node[] {
  const a = new FunctionNode<number, number>({ id: 'a', run: (n) => n + 1 });
  const b = new FunctionNode<number, number>({
    id: 'b',
    dependsOn: ['a'],
    run: (n) => {
      calls['b'] = (calls['b'] ?? 0) + 1;
      if (calls['b'] === 1) throw new Error('b failed once');
      return n + 1;
    },
  });
  return [a, b];
}

/** A logger that records what it is told, by level. */
function recordingLogger() {
  const lines: Array<{ level: keyof Logger; message: string; fields: Record<string, unknown> | undefined }> = [];
  const at =
    (level: keyof Logger) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, message, fields });
    };
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines, of: (level: keyof Logger) => lines.filter((line) => line.level === level) };
}

const unavailable = () => new BackendUnavailableError('the backend could not be reached (ECONNRESET)');
const fast = { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 };

export function describeDurability(name: string, backend: SuiteBackend): void {
  describe(`loud durability (${name})`, () => {
    const { ref, config } = useBackend(backend);

    /** Every header put fails with `error()`; `attempts()` counts the puts. */
    function refusingPuts(error: () => Error) {
      let count = 0;
      const { adapter } = instrument(ref.storage, {
        putHeader: async () => {
          count += 1;
          throw error();
        },
      });
      return { adapter, attempts: () => count };
    }

    /** Puts a header through the real adapter, then loses the reply; `getHeader` is unreachable once, right after. */
    function lostReplies(storage: StorageAdapter) {
      let lost = 0;
      let blindReads = 0;
      const attempts: string[] = [];
      const { adapter } = instrument(storage, {
        putHeader: async (header: { id: string }, options: unknown) => {
          attempts.push(header.id);
          await storage.putHeader(header as never, options as never);
          if (lost === 0) {
            lost += 1;
            blindReads += 1;
            throw unavailable();
          }
        },
        getHeader: async (id: string) => {
          if (blindReads > 0) {
            blindReads -= 1;
            throw unavailable();
          }
          return storage.getHeader(id);
        },
      });
      return { adapter, attempts };
    }

    it('retries a commit whose reply was lost and recognises it as committed', async () => {
        const { adapter, attempts } = lostReplies(ref.storage);
        const { logger, of } = recordingLogger();
        const calls: Record<string, number> = {};
        const workflow = new Workflow({
          flow: new Flow({ id: 'lost-reply', nodes: steps(calls) }),
          checkpoint: config({ writeRetry: fast, logger }, adapter),
        });

        const result = await workflow.run(0);
        expect(result).toMatchObject({ status: 'success', output: 3, warnings: [] });
        // The first checkpoint was attempted twice under one id, and stored once.
        expect(attempts[0]).toBe(attempts[1]);
        const history = await workflow.listCheckpoints({ runId: result.runId });
        // One checkpoint per commit: the seqs are gap-free and every attempt after the first names a new one.
        expect(history.map((summary) => summary.seq)).toEqual(history.map((_, i) => history.length - 1 - i));
        expect(history).toHaveLength(attempts.length - 1);
        expect(history.at(-1)!.id).toBe(attempts[0]);
        expect(result.checkpointId).toBe(history[0]!.id);
        expect(of('warn')).toEqual([]);
        expect(of('debug').filter((line) => /retrying/.test(line.message))).toHaveLength(1);
        expect(calls).toEqual({ a: 1, b: 1, c: 1 });
      });

    it('retries transient failures with back-off before onCheckpointError applies', async () => {
      let failures = 2;
      let attempts = 0;
      const { adapter } = instrument(ref.storage, {
        putHeader: async (header: never, options: never) => {
          attempts += 1;
          if (failures > 0) {
            failures -= 1;
            throw unavailable();
          }
          return ref.storage.putHeader(header, options);
        },
      });
      const { logger, of } = recordingLogger();
      const workflow = new Workflow({
        flow: new Flow({ id: 'blip', nodes: steps({}) }),
        checkpoint: config({ onCheckpointError: 'fail', writeRetry: fast, logger }, adapter),
      });

      const result = await workflow.run(0);
      expect(result).toMatchObject({ status: 'success', output: 3, warnings: [] });
      const history = await workflow.listCheckpoints({ runId: result.runId });
      expect(attempts).toBe(history.length + 2);
      const retries = of('debug').filter((line) => /retrying/.test(line.message));
      expect(retries.map((line) => line.fields)).toEqual([
        expect.objectContaining({ runId: result.runId, seq: 0, attempt: 1 }),
        expect.objectContaining({ runId: result.runId, seq: 0, attempt: 2 }),
      ]);
      expect(of('debug').filter((line) => /committed/.test(line.message))).toHaveLength(history.length);
      expect(of('error')).toEqual([]);
    });

    it('gives up after writeRetry.maxAttempts: in continue mode each lost checkpoint is a warning the logger gets too', async () => {
      const { adapter, attempts } = refusingPuts(() => unavailable());
      const { logger, of } = recordingLogger();
      const workflow = new Workflow({
        flow: new Flow({ id: 'down', nodes: steps({}) }),
        checkpoint: config({ writeRetry: fast, logger }, adapter),
      });

      const result = await workflow.run(0);
      expect(result).toMatchObject({ status: 'success', output: 3, checkpointId: null });
      expect(result.warnings.length).toBeGreaterThan(0);
      expect(attempts()).toBe(fast.maxAttempts * result.warnings.length);
      expect(result.warnings[0]!.message).toMatch(/could not be written after 3 attempts/);
      expect(of('warn').map((line) => [line.message, line.fields])).toEqual(
        result.warnings.map((warning) => [warning.message, { runId: result.runId, code: 'CHECKPOINT_WRITE_FAILED' }]),
      );
    });

    it('warns on the console by default', async () => {
      const { adapter } = instrument(ref.storage, { putHeader: async () => Promise.reject(unavailable()) });
      const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
      try {
        const workflow = new Workflow({ flow: new Flow({ id: 'console', nodes: steps({}) }), checkpoint: config({ writeRetry: fast }, adapter) });
        const result = await workflow.run(0);
        expect(result.warnings.length).toBeGreaterThan(0);
        expect(warn).toHaveBeenCalledWith(`[savepoint] ${result.warnings[0]!.message}`, { runId: result.runId, code: 'CHECKPOINT_WRITE_FAILED' });
      } finally {
        warn.mockRestore();
      }
    });

    it('does not retry what cannot succeed (a lost lease); the failure goes to logger.error', async () => {
      const { adapter, attempts } = refusingPuts(() => new LeaseLostError('the lease was taken over'));
      const { logger, of } = recordingLogger();
      const workflow = new Workflow({ flow: new Flow({ id: 'fenced', nodes: steps({}) }), checkpoint: config({ writeRetry: fast, logger }, adapter) });

      const result = await workflow.run(0);
      expect(result.status).toBe('failure');
      expect(LeaseLostError.isInstance(result.error)).toBe(true);
      expect(attempts()).toBe(1);
      expect(of('error').map((line) => line.fields)).toEqual([{ runId: result.runId, code: 'LEASE_LOST' }]);
    });

    it("in fail mode stops the run after the retries with CheckpointWriteError, reported to logger.error", async () => {
      const { adapter, attempts } = refusingPuts(() => unavailable());
      const { logger, of } = recordingLogger();
      const calls: Record<string, number> = {};
      const workflow = new Workflow({
        flow: new Flow({ id: 'down-strict', nodes: steps(calls) }),
        checkpoint: config({ onCheckpointError: 'fail', writeRetry: fast, logger }, adapter),
      });

      const result = await workflow.run(0);
      expect(result.status).toBe('failure');
      expect(CheckpointWriteError.isInstance(result.error)).toBe(true);
      expect(attempts()).toBe(fast.maxAttempts);
      expect(calls).toEqual({ a: 1 });
      expect(of('error').map((line) => line.fields)).toEqual([{ runId: result.runId, code: 'CHECKPOINT_WRITE_FAILED' }]);
    });

    describe('a run held by a worker that died', () => {
      const TTL = 400;

      /** A failed run whose lease is then taken by a "worker" that never renews or releases it. */
      async function heldByDeadWorker(deadTtlMs: number) {
        const calls: Record<string, number> = {};
        const workflow = new Workflow({
          flow: new Flow({ id: 'orphan', nodes: failingOnce(calls) }),
          checkpoint: config({ leaseTtlMs: TTL, logger: recordingLogger().logger }),
        });
        const failed = await workflow.run(0);
        expect(failed.status).toBe('failure');
        await ref.storage.acquireLease(failed.runId, 'dead-worker', deadTtlMs);
        return { workflow, runId: failed.runId, calls };
      }

      it('RunLockedError says when the lease lapses (retryAfterMs), and waitForLease resumes once it has', async () => {
        const { workflow, runId, calls } = await heldByDeadWorker(TTL);
        const refused = await workflow.resume({ runId }).catch((error: unknown) => error);
        expect(RunLockedError.isInstance(refused)).toBe(true);
        const { retryAfterMs, message } = refused as RunLockedError;
        expect(retryAfterMs).toBeGreaterThan(0);
        expect(retryAfterMs).toBeLessThanOrEqual(TTL);
        expect(message).toMatch(/expires in \d+ ms.*waitForLease/);
        expect(calls).toEqual({ b: 1 });

        const resumed = await workflow.resume({ runId, waitForLease: true });
        expect(resumed).toMatchObject({ status: 'success', output: 2 });
        expect(calls).toEqual({ b: 2 });
      });

      it('waitForLease gives up after its timeout while the lease is still held', async () => {
        const { workflow, runId, calls } = await heldByDeadWorker(60_000);
        const refused = await workflow.resume({ runId, waitForLease: { timeoutMs: 50 } }).catch((error: unknown) => error);
        expect(RunLockedError.isInstance(refused)).toBe(true);
        expect((refused as RunLockedError).message).toMatch(/after waiting 50 ms/);
        expect((refused as RunLockedError).retryAfterMs).toBeGreaterThan(TTL);
        expect(calls).toEqual({ b: 1 });
      });

      it('the resume signal aborts the wait', async () => {
        const { workflow, runId } = await heldByDeadWorker(60_000);
        const controller = new AbortController();
        const waiting = workflow.resume({ runId, waitForLease: true, signal: controller.signal });
        controller.abort(new Error('stop waiting'));
        await expect(waiting).rejects.toThrow('stop waiting');
      });
    });

    it('resume of a run that does not exist rejects with NotFoundError and takes no lease', async () => {
      const { adapter, calls } = instrument(ref.storage);
      const workflow = new Workflow({ flow: new Flow({ id: 'missing', nodes: steps({}) }), checkpoint: config({}, adapter) });
      await expect(workflow.resume({ runId: 'no-such-run' })).rejects.toThrow(NotFoundError);
      expect(calls).not.toContain('acquireLease');
      expect(await ref.storage.acquireLease('no-such-run', 'someone', 1_000)).toMatchObject({ token: 1 });
    });

    it('excludeNodes: an excluded node is never stored and runs again on resume; dependents already done do not', async () => {
      const calls: Record<string, number> = {};
      const count = (id: string) => (calls[id] = (calls[id] ?? 0) + 1);
      const a = new FunctionNode<number, number>({ id: 'a', run: (n) => (count('a'), n + 1) });
      // A live handle: storing it would fail the run (a function cannot be encoded).
      const client = new FunctionNode<number, { value: number; close: () => void }>({
        id: 'client',
        dependsOn: ['a'],
        run: (n) => (count('client'), { value: n, close: () => undefined }),
      });
      const c = new FunctionNode<{ value: number }, number>({ id: 'c', dependsOn: ['client'], run: (h) => (count('c'), h.value + 1) });
      const d = new FunctionNode<Record<string, unknown>, number>({
        id: 'd',
        dependsOn: ['c', 'client'],
        run: (inputs) => {
          if (count('d') === 1) throw new Error('d failed once');
          return (inputs['c'] as number) + (inputs['client'] as { value: number }).value;
        },
      });
      const workflow = new Workflow({
        flow: new Flow({ id: 'excluded', nodes: [a, client, c, d] }),
        checkpoint: config({ excludeNodes: ['client'] }),
      });

      const failed = await workflow.run(0);
      expect(failed.status).toBe('failure');
      const stored = await Promise.all(
        (await workflow.listCheckpoints({ runId: failed.runId })).map((summary) => workflow.store!.load(summary.id)),
      );
      expect(stored.length).toBeGreaterThan(0);
      for (const checkpoint of stored) {
        expect(Object.keys(checkpoint.nodeStates)).not.toContain('client');
        expect(checkpoint.completedNodeIds).not.toContain('client');
        // Nor in the recorded input of the nodes that consumed it.
        expect(checkpoint.nodeStates['c']?.input).toBeUndefined();
        expect(checkpoint.nodeStates['d']?.input).toBeUndefined();
      }
      expect(stored[0]!.nodeStates['a']!.input).toBe(0);
      expect(stored[0]!.completedNodeIds).toEqual(['a', 'c']);
      expect(stored[0]!.pendingNodeIds).toEqual(['client', 'd']);

      const resumed = await workflow.resume({ runId: failed.runId });
      expect(resumed).toMatchObject({ status: 'success', output: 3 });
      expect(calls).toEqual({ a: 1, client: 2, c: 1, d: 2 });
    });
  });
}
