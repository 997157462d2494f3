// Cursor pagination of GET /runs and GET /runs/:id/checkpoints (issue #12 §3): `limit` and an opaque `nextCursor` keyed
// on the last item's sort key, so pages neither skip nor repeat items when runs and checkpoints are added meanwhile.
import { afterEach, describe, expect, it } from '@jest/globals';
import { Flow, FunctionNode, MemoryAdapter, Workflow, type StorageAdapter } from '@savepoint/core';
import { createRuntime, type Runtime, type RuntimeOptions } from '../src/index.js';
import { until } from './support/api.js';
import { approvalWorkflow } from './support/approval-workflow.js';

const auth: RuntimeOptions['auth'] = (request) => ({ tenantId: request.headers.get('x-tenant') ?? 'acme', userId: request.headers.get('x-user') ?? 'ada' });

/** A workflow that completes at once (its own flow, so listings merge two flows). */
const echo = (backend: StorageAdapter, id: string) =>
  new Workflow({ flow: new Flow({ id, nodes: [new FunctionNode({ id: 'echo', run: (input: unknown) => input })] }), checkpoint: { enabled: true, backend } });

describe('cursor pagination', () => {
  const runtimes: Runtime[] = [];
  afterEach(async () => {
    await Promise.all(runtimes.splice(0).map((runtime) => runtime.close()));
  });

  function start() {
    const backend = new MemoryAdapter();
    const runtime = createRuntime({
      workflows: { one: echo(backend, 'one'), two: echo(backend, 'two'), approval: approvalWorkflow({ backend }).workflow },
      backend,
      auth,
      reaper: false,
      pollIntervalMs: 10,
      hitlTimeoutMs: 0,
    });
    runtimes.push(runtime);
    const call = async (path: string, { body, headers = {} }: { body?: unknown; headers?: Record<string, string> } = {}) => {
      const init: RequestInit = { method: body === undefined ? 'GET' : 'POST', headers: { 'content-type': 'application/json', ...headers } };
      if (body !== undefined) init.body = JSON.stringify(body);
      const response = await runtime.handler(new Request(`http://runtime${path}`, init));
      return { status: response.status, body: (await response.json()) as any };
    };
    const status = async (runId: string) => (await call(`/runs/${runId}`)).body.status as string;
    /** Starts a run and waits until it is completed (or waiting for input), so its head is its last checkpoint. */
    const run = async (workflow: string) => {
      const started = await call('/runs', { body: { workflow, input: { topic: 'x' } } });
      expect(started.status).toBe(202);
      const runId = started.body.runId as string;
      await until(`run ${runId} to settle`, async () => (['completed', 'pending_input'].includes(await status(runId)) ? true : undefined));
      return runId;
    };
    const page = async (path: string, cursor: string | null | undefined, limit: number, headers: Record<string, string> = {}) => {
      const separator = path.includes('?') ? '&' : '?';
      const response = await call(`${path}${separator}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers });
      expect(response.status).toBe(200);
      return response.body as { runs?: Array<{ runId: string }>; checkpoints?: Array<{ seq: number }>; nextCursor: string | null };
    };
    return { call, run, page, status };
  }

  it('pages through runs of several workflows newest first; runs started between pages are neither skipped nor repeated', async () => {
    const { run, page } = start();
    const older: string[] = [];
    for (const workflow of ['one', 'two', 'one', 'approval', 'two', 'one', 'two']) older.push(await run(workflow));
    const newestFirst = [...older].reverse();

    const first = await page('/runs', undefined, 3);
    expect(first.runs!.map((r) => r.runId)).toEqual(newestFirst.slice(0, 3));
    expect(first.nextCursor).toEqual(expect.any(String));
    // New runs arrive between pages: they are newer than the cursor, so they belong before page one.
    const newer = [await run('one'), await run('two')];
    const second = await page('/runs', first.nextCursor, 3);
    const third = await page('/runs', second.nextCursor, 3);
    expect(second.runs!.map((r) => r.runId)).toEqual(newestFirst.slice(3, 6));
    expect(third).toEqual({ runs: [expect.objectContaining({ runId: newestFirst[6] })], nextCursor: null });

    const all: string[] = [];
    for (let cursor: string | null | undefined, pages = 0; cursor !== null; pages++) {
      const next = await page('/runs', cursor, 4);
      all.push(...next.runs!.map((r) => r.runId));
      cursor = next.nextCursor;
      expect(pages).toBeLessThan(3);
    }
    expect(all).toEqual([...newer.reverse(), ...newestFirst]);
    // A page exactly as long as what is left ends the listing: no empty page after it.
    expect(await page('/runs?workflow=approval', undefined, 1)).toEqual({ runs: [expect.objectContaining({ runId: older[3] })], nextCursor: null });
    const filtered = await page('/runs?workflow=one&status=completed', undefined, 2);
    expect((await page('/runs?workflow=one&status=completed', filtered.nextCursor, 2)).runs!.map((r) => r.runId)).toEqual([older[2], older[0]]);
  });

  it("pages through a run's checkpoints by seq; checkpoints added between pages are neither skipped nor repeated", async () => {
    const { call, run, page, status } = start();
    const runId = await run('approval');
    const before = (await page(`/runs/${runId}/checkpoints`, undefined, 1000)).checkpoints!.map((c) => c.seq);
    expect(before.length).toBeGreaterThan(2);
    expect(before).toEqual([...before].sort((x, y) => y - x));

    const first = await page(`/runs/${runId}/checkpoints`, undefined, 2);
    // The run goes on: answered, it adds checkpoints above those listed.
    expect((await call(`/runs/${runId}/input`, { body: { input: { approve: { ok: true } } } })).status).toBe(202);
    await until('the run to complete', async () => ((await status(runId)) === 'completed' ? true : undefined));
    const seqs = first.checkpoints!.map((c) => c.seq);
    for (let cursor = first.nextCursor; cursor !== null; ) {
      const next = await page(`/runs/${runId}/checkpoints`, cursor, 2);
      seqs.push(...next.checkpoints!.map((c) => c.seq));
      cursor = next.nextCursor;
    }
    expect(seqs).toEqual(before);
    const now = (await page(`/runs/${runId}/checkpoints`, undefined, 1000)).checkpoints!.map((c) => c.seq);
    expect(now.length).toBeGreaterThan(before.length);
  });

  it('refuses a malformed, altered or foreign cursor with a 400 that says to start again', async () => {
    const { call, run, page } = start();
    const runId = await run('approval');
    await run('one');
    const runsCursor = (await page('/runs', undefined, 1)).nextCursor!;
    const checkpointsCursor = (await page(`/runs/${runId}/checkpoints`, undefined, 1)).nextCursor!;
    const payload = JSON.parse(Buffer.from(runsCursor, 'base64url').toString('utf8')) as { p: string };
    const altered = Buffer.from(JSON.stringify({ ...payload, p: '0' })).toString('base64url');

    const refused = async (path: string, headers: Record<string, string> = {}) => {
      const response = await call(path, { headers });
      expect(response).toMatchObject({ status: 400, body: { error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('drop `cursor`') } } });
      return response.body.error.message as string;
    };
    for (const cursor of ['not-a-cursor', altered, runsCursor.slice(0, -4), Buffer.from('[1]').toString('base64url')]) {
      expect(await refused(`/runs?cursor=${encodeURIComponent(cursor)}`)).toMatch(/malformed or was altered/);
    }
    // Valid cursors of another listing: another route, run, caller or filter.
    for (const [path, headers] of [
      [`/runs/${runId}/checkpoints?cursor=${runsCursor}`, {}],
      [`/runs?cursor=${checkpointsCursor}`, {}],
      [`/runs?status=completed&cursor=${runsCursor}`, {}],
      [`/runs?cursor=${runsCursor}`, { 'x-user': 'bob' }],
    ] as const) {
      expect(await refused(path, headers)).toMatch(/belongs to another listing/);
    }
    const otherRun = await run('approval');
    expect(await refused(`/runs/${otherRun}/checkpoints?cursor=${checkpointsCursor}`)).toMatch(/another listing/);
    for (const limit of ['0', '501', 'x']) expect((await call(`/runs?limit=${limit}`)).status).toBe(400);
    expect((await call(`/runs/${runId}/checkpoints?limit=1001`)).status).toBe(400);
    // A foreign tenant's cursor tells nothing about its runs: the same 400.
    expect(await refused(`/runs?cursor=${runsCursor}`, { 'x-tenant': 'globex' })).toMatch(/another listing/);
  });
});
