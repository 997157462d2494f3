import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { CheckpointStore } from '@savepoint/core';
import type { TestBackend } from './backends';
import { json, type Runner } from './runners';
import { seedRuns, type SeededRuns } from './seed';

/**
 * The CLI's behaviour on one backend, through one runner (the real bin, or in-process). The tests share one
 * seeded store and run in order: the later ones change it (answer, cancel, delete, prune, corrupt).
 */
export function cliSuite(title: string, makeBackend: () => TestBackend, run: Runner): void {
  describe(title, () => {
    let backend: TestBackend;
    let runs: SeededRuns;
    let fixtureEnv: Record<string, string>;
    const cli = (...args: string[]) => run([...backend.args, ...args], fixtureEnv);

    beforeAll(async () => {
      backend = makeBackend();
      fixtureEnv = { SAVEPOINT_FIXTURE_BACKEND: JSON.stringify(backend.fixture) };
      // The in-process runner imports the fixture module into this process, which reads its backend from here.
      process.env.SAVEPOINT_FIXTURE_BACKEND = fixtureEnv.SAVEPOINT_FIXTURE_BACKEND;
      runs = await seedRuns(backend);
    });
    afterAll(async () => {
      await backend?.dispose();
    });

    /** Reads the store directly, to check what the CLI did (or did not) write. */
    async function withStore<T>(read: (store: CheckpointStore, adapter: ReturnType<TestBackend['open']>) => Promise<T>): Promise<T> {
      const adapter = backend.open();
      try {
        return await read(new CheckpointStore(adapter), adapter);
      } finally {
        await adapter.close?.();
      }
    }

    test('migrate sets the backend up (idempotent)', async () => {
      const out = await cli('migrate', '--json');
      expect(out.code).toBe(0);
      expect(json(out)).toMatchObject({ upToDate: true });
    });

    test('runs list: every run, newest first, as JSON and as a table; filters by status and flow', async () => {
      const all = json<{ runs: Array<{ runId: string; status: string; flowId: string }> }>(await cli('runs', 'list', '--json'));
      expect(all.runs.map((r) => r.runId)).toEqual([runs.victim, runs.failed, runs.waitingToCancel, runs.waitingForModule, runs.waiting, runs.completed]);
      expect(all.runs.find((r) => r.runId === runs.failed)).toMatchObject({ status: 'failed', flowId: 'failing' });

      const human = await cli('runs', 'list');
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(/^RUN\s+FLOW\s+STATUS/);
      for (const id of Object.values(runs)) expect(human.stdout).toContain(id);

      const waiting = json<{ runs: Array<{ runId: string; pendingInputs: string[] }> }>(await cli('runs', 'list', '--status', 'pending_input', '--limit', '2', '--json'));
      expect(waiting.runs).toEqual([
        expect.objectContaining({ runId: runs.waitingToCancel, pendingInputs: ['approve'] }),
        expect.objectContaining({ runId: runs.waitingForModule, pendingInputs: ['approve'] }),
      ]);
      const failing = json<{ runs: Array<{ runId: string }> }>(await cli('runs', 'list', '--flow', 'failing', '--json'));
      expect(failing.runs.map((r) => r.runId)).toEqual([runs.failed]);
    });

    test('runs show: status, the pending input with its JSON Schema, node states', async () => {
      const out = await cli('runs', 'show', runs.waiting, '--json');
      expect(out.code).toBe(0);
      const view = json(out);
      expect(view).toMatchObject({ runId: runs.waiting, status: 'pending_input', flowId: 'approval' });
      expect(view.pendingInputs).toEqual([
        expect.objectContaining({ nodePath: 'approve', prompt: 'Publish this draft?', schema: expect.objectContaining({ type: 'object', required: ['ok'] }) }),
      ]);
      expect(view.nodes).toEqual(
        expect.arrayContaining([expect.objectContaining({ nodeId: 'draft', status: 'success', output: 'draft about dogs' }), expect.objectContaining({ nodeId: 'approve', status: 'pending_input' })]),
      );
      const human = await cli('runs', 'show', runs.failed);
      expect(human.stdout).toContain(runs.failed);
      expect(human.stdout).toMatch(/explode\s+function\s+failure/);
      expect(human.stdout).toContain('the upstream API said no');
    });

    test('a run or checkpoint that does not exist exits 3', async () => {
      const out = await cli('runs', 'show', 'no-such-run');
      expect(out.code).toBe(3);
      expect(out.stderr).toContain('no-such-run');
      expect((await cli('checkpoint', 'show', 'no-such-checkpoint', '--json')).code).toBe(3);
    });

    test('checkpoints: the timeline in seq order with the nodes each checkpoint changed; diff between two of them', async () => {
      const out = await cli('checkpoints', runs.completed, '--json');
      expect(out.code).toBe(0);
      const { checkpoints } = json<{ checkpoints: Array<{ seq: number; id: string; status: string; changedNodes: string[] }> }>(out);
      const seqs = checkpoints.map((c) => c.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      const waitingAt = checkpoints.find((c) => c.status === 'pending_input')!;
      const last = checkpoints[checkpoints.length - 1]!;
      expect(last.status).toBe('completed');
      expect(checkpoints.find((c) => c.changedNodes.includes('publish'))?.status).toBe('active');
      expect(checkpoints.flatMap((c) => c.changedNodes)).toEqual(expect.arrayContaining(['draft', 'approve', 'publish']));

      const human = await cli('checkpoints', runs.completed);
      for (const c of checkpoints) expect(human.stdout).toContain(c.id);

      const diff = json(await cli('diff', waitingAt.id, last.id, '--json'));
      expect(diff.status).toEqual({ from: 'pending_input', to: 'completed' });
      expect(diff.nodes.added).toEqual([{ nodeId: 'publish', status: 'success' }]);
      expect(diff.nodes.changed).toEqual([
        expect.objectContaining({ nodeId: 'approve', status: expect.objectContaining({ to: 'success' }), output: { to: { ok: true } } }),
      ]);
      expect(diff.pendingInputs.removed).toEqual([expect.objectContaining({ nodePath: 'approve' })]);
      const humanDiff = await cli('diff', waitingAt.id, last.id);
      expect(humanDiff.stdout).toContain('status: pending_input -> completed');
      expect(humanDiff.stdout).toContain('+ publish (success)');

      const shown = json(await cli('checkpoint', 'show', last.id, '--json'));
      expect(shown).toMatchObject({ id: last.id, runId: runs.completed, status: 'completed', originalInput: { topic: 'cats' } });
      expect(shown.nodeStates.publish).toMatchObject({ status: 'success', output: 'published' });
      expect((await cli('checkpoint', 'show', last.id)).stdout).toContain('Node publish [function] success');
    });

    test('verify on a clean store exits 0', async () => {
      const out = await cli('verify', '--json');
      expect(out.code).toBe(0);
      expect(json(out)).toMatchObject({ corrupt: [] });
      expect(json(out).checked).toBeGreaterThan(6);
    });

    test('answer: a value its schema refuses exits 1 and writes nothing; a valid one is stored once', async () => {
      const notJson = await cli('answer', runs.waiting, 'approve', '{ok: yes}');
      expect(notJson.code).toBe(2);
      expect(notJson.stderr).toContain('not JSON');
      const refused = await cli('answer', runs.waiting, 'approve', '{"ok":"yes"}', '--json');
      expect(refused.code).toBe(1);
      expect(json(refused).error).toMatchObject({ code: 'INVALID_ANSWER', issues: [{ path: 'ok', message: 'must be boolean' }] });
      const requestId = await withStore(async (store) => (await store.getLatest({ runId: runs.waiting }))!.pendingInputs[0]!.requestId!);
      expect(await withStore(async (_, adapter) => adapter.getInput!(runs.waiting, `answer.${requestId}`))).toBeNull();

      const wrongPath = await cli('answer', runs.waiting, 'nowhere', '{"ok":true}');
      expect(wrongPath.code).toBe(1);
      expect(wrongPath.stderr).toContain('waiting at: approve');

      const accepted = await cli('answer', runs.waiting, 'approve', '{"ok":true,"note":"lgtm"}', '--json');
      expect(accepted.code).toBe(0);
      expect(json(accepted)).toMatchObject({ runId: runs.waiting, nodePath: 'approve', requestId, delivery: 'inbox' });
      const stored = await withStore(async (_, adapter) => adapter.getInput!(runs.waiting, `answer.${requestId}`));
      expect(stored).toMatchObject({ nodePath: 'approve', consumedBy: null });

      const second = await cli('answer', runs.waiting, 'approve', '{"ok":false}');
      expect(second.code).toBe(1);
      expect(second.stderr).toContain('answered already');
    });

    test('answer --module resumes the run here; resume prints the result and exits 1 for a run that fails again', async () => {
      const answered = await cli('answer', runs.waitingForModule, 'approve', '{"ok":true}', '--module', './fixture-workflows.cjs', '--workflow', 'approval', '--json');
      expect(answered.code).toBe(0);
      expect(json(answered)).toMatchObject({ runId: runs.waitingForModule, status: 'success', output: 'published' });

      const failedAgain = await cli('resume', runs.failed, '--module', './fixture-workflows.cjs', '--workflow', 'failing');
      expect(failedAgain.code).toBe(1);
      expect(failedAgain.stdout).toContain(`Run ${runs.failed}: failure`);

      const stillWaiting = await cli('resume', runs.waitingToCancel, '--module', './fixture-workflows.cjs', '--workflow', 'approval', '--json');
      expect(stillWaiting.code).toBe(0);
      expect(json(stillWaiting)).toMatchObject({ status: 'pending_input', pendingInputs: [expect.objectContaining({ nodePath: 'approve' })] });

      const noName = await cli('resume', runs.failed, '--module', './fixture-workflows.cjs');
      expect(noName.code).toBe(2);
      expect(noName.stderr).toContain('approval, failing');
    });

    test('cancel marks a waiting run canceled; a finished run is left as it is', async () => {
      const out = await cli('cancel', runs.waitingToCancel, '--json');
      expect(out.code).toBe(0);
      expect(json(out)).toMatchObject({ runId: runs.waitingToCancel, status: 'canceled' });
      expect(json(await cli('runs', 'show', runs.waitingToCancel, '--json'))).toMatchObject({ status: 'canceled', pendingInputs: [] });
      const again = await cli('cancel', runs.waitingToCancel);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('already ended: canceled');
    });

    test('prune --dry-run lists finished runs and removes nothing; prune removes them through retention', async () => {
      const dry = await cli('prune', '--older-than', '0s', '--dry-run', '--progress', '--json');
      expect(dry.code).toBe(0);
      const listed = json<{ runs: Array<{ runId: string }> }>(dry).runs.map((r) => r.runId);
      expect(listed.sort()).toEqual([runs.completed, runs.waitingForModule, runs.victim, runs.failed, runs.waitingToCancel].sort());
      expect(dry.stderr).toContain('looking for completed runs');
      expect((await cli('runs', 'show', runs.failed)).code).toBe(0);
      // Nothing is older than 30 days.
      expect(json(await cli('prune', '--dry-run', '--json')).runs).toEqual([]);

      const pruned = await cli('prune', '--older-than', '0s', '--status', 'failed,canceled', '--progress');
      expect(pruned.code).toBe(0);
      expect(pruned.stdout).toContain('Pruned 2 run(s)');
      expect(pruned.stdout).toContain(runs.failed);
      expect(pruned.stderr).toContain('pruning 1/2');
      const gone = await cli('runs', 'show', runs.failed);
      expect(gone.code).toBe(3);
      expect(gone.stderr).toContain('removed by retention');
      expect((await cli('runs', 'show', runs.completed)).code).toBe(0);
    });

    test('delete removes a run', async () => {
      const out = await cli('delete', runs.waitingForModule, '--json');
      expect(out.code).toBe(0);
      expect(json(out).deletedCheckpoints).toBeGreaterThan(1);
      expect((await cli('runs', 'show', runs.waitingForModule)).code).toBe(3);
      expect(await withStore((store) => store.listByRun(runs.waitingForModule))).toEqual([]);
    });

    test('verify after one blob byte changed exits 1 and names the run and checkpoints', async () => {
      await backend.corruptBlob(runs.victim);
      const out = await cli('verify', '--json');
      expect(out.code).toBe(1);
      const { corrupt } = json<{ corrupt: Array<{ runId: string; checkpointId: string; message: string }> }>(out);
      expect(corrupt.length).toBeGreaterThan(0);
      expect(new Set(corrupt.map((c) => c.runId))).toEqual(new Set([runs.victim]));
      expect(corrupt[0]!.message).toMatch(/corrupt|does not match/);
      const one = await cli('verify', runs.victim);
      expect(one.code).toBe(1);
      expect(one.stdout).toContain(corrupt[0]!.checkpointId);
      expect((await cli('verify', runs.completed)).code).toBe(0);
    });
  });
}
