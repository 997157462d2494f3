// The route handler as Next.js calls it: the exported GET and POST of app/api/runs/[[...path]]/route.ts, each given a
// Web Request for a URL under /api/runs. No Next.js install and no server: what Next adds is the routing to them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';

type Handler = (request: Request) => Promise<Response>;
const dir = mkdtempSync(join(tmpdir(), 'savepoint-example-next-'));
let route: { GET: Handler; POST: Handler; runtime: string; dynamic: string };
let close: () => Promise<void>;

beforeAll(async () => {
  process.env.SAVEPOINT_DB = join(dir, 'next.db');
  route = await import('../app/api/runs/[[...path]]/route.js');
  close = (await import('../lib/savepoint.js')).savepoint.close;
});

afterAll(async () => {
  await close?.();
  rmSync(dir, { recursive: true, force: true });
});

const cookie = 'session=ana%40example.com';
const get = (path: string, headers: Record<string, string> = { cookie }) => route.GET(new Request(`http://localhost:3000${path}`, { headers }));
const post = (path: string, body: unknown) =>
  route.POST(new Request(`http://localhost:3000${path}`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) }));

/** Polls GET /api/runs/:id (what a page does between two visits) until the run reaches `status`. */
async function until(runId: string, status: string): Promise<Record<string, any>> {
  for (let i = 0; i < 200; i += 1) {
    const run = (await (await get(`/api/runs/${runId}`)).json()) as Record<string, any>;
    if (run.status === status) return run;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`run ${runId} never reached ${status}`);
}

describe('Next.js route handler example', () => {
  it('runs on Node and is never cached', () => {
    expect(route.runtime).toBe('nodejs');
    expect(route.dynamic).toBe('force-dynamic');
  });

  it('refuses a visitor without a session', async () => {
    expect((await get('/api/runs', {})).status).toBe(401);
  });

  it('starts an invoice, shows it under "my questions", sends it after the approval', async () => {
    const started = await post('/api/runs', { workflow: 'invoice', input: { customer: 'Globex', lines: [{ item: 'audit', cents: 120_000 }, { item: 'travel', cents: 8_050 }] } });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };

    const waiting = await until(runId, 'pending_input');
    const [question] = waiting.pendingInputs as Array<{ nodePath: string; requestId: string; prompt: string; schema: unknown }>;
    expect(question).toMatchObject({ nodePath: 'approve', prompt: 'Send an invoice of 1280.50 EUR to Globex?' });
    expect(question!.schema).toMatchObject({ type: 'object', properties: { send: { type: 'boolean' } } });

    const mine = (await (await get('/api/runs?status=pending_input&mine=true')).json()) as { runs: Array<{ runId: string }> };
    expect(mine.runs.map((run) => run.runId)).toEqual([runId]);

    const answered = await post(`/api/runs/${runId}/input`, { input: { approve: { send: true } }, requestIds: { approve: question!.requestId } });
    expect(answered.status).toBe(202);
    expect(await until(runId, 'completed')).toMatchObject({ output: 'sent 128050 cents to Globex' });
  });
});
