import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import { createRuntime, type RuntimeOptions } from '../src/index.js';
import { tenantPrefix } from '../src/run-ids.js';
import { api } from './support/api.js';
import { approvalWorkflow } from './support/approval-workflow.js';
import { serve, type TestServer } from './support/http-server.js';

// Issue 9 §2, "errors say so": a run that retention removed answers 404 NOT_FOUND (as before, so clients keep working)
// with a message that says so, on every route of the run, and only to the tenant that owned it.
const dir = mkdtempSync(join(tmpdir(), 'savepoint-removed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DAY = 86_400_000;
const auth: RuntimeOptions['auth'] = (request) => ({ tenantId: request.headers.get('x-tenant') ?? 'acme', userId: 'u1' });
const ACME = { 'x-tenant': 'acme' };
const GLOBEX = { 'x-tenant': 'globex' };

describe('a run removed by retention (SQLite)', () => {
  const servers: TestServer[] = [];
  const backends: SqliteBackend[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
    for (const backend of backends.splice(0)) await backend.close();
  });

  /** A server whose runs `chosen` (a runId the client chose) and a generated one were canceled, then aged out. */
  async function removedRuns(file: string, options: Partial<RuntimeOptions> = {}) {
    const backend = new SqliteBackend({ path: join(dir, file) });
    backends.push(backend);
    const { workflow } = approvalWorkflow({ backend });
    const server = await serve(createRuntime({ workflows: { approval: workflow }, backend, auth, hitlTimeoutMs: 0, reaper: false, ...options }));
    servers.push(server);
    const generated = (await api(server.url, '/runs', { body: { workflow: 'approval', input: { topic: 'AI' } }, headers: ACME })).body.runId as string;
    expect((await api(server.url, '/runs', { body: { workflow: 'approval', input: { topic: 'AI' }, runId: 'chosen' }, headers: ACME })).status).toBe(202);
    for (const runId of [generated, 'chosen']) {
      expect((await api(server.url, `/runs/${runId}/cancel`, { method: 'POST', headers: ACME })).body).toMatchObject({ status: 'canceled' });
    }
    const now = Date.now() + 31 * DAY;
    expect((await workflow.store!.cleanup({ now })).deletedCheckpoints).toBeGreaterThan(0);
    return { url: server.url, generated, removedAt: new Date(now).toISOString() };
  }

  it('is a 404 NOT_FOUND that says retention removed it, when, and which setting, under the id the client knows', async () => {
    const { url, generated, removedAt } = await removedRuns('owner.db');
    for (const runId of ['chosen', generated]) {
      const routes: Array<[string, Promise<{ status: number; body: any }>]> = [
        ['GET', api(url, `/runs/${runId}`, { headers: ACME })],
        ['input', api(url, `/runs/${runId}/input`, { body: { input: { approve: { ok: true } } }, headers: { ...ACME, 'idempotency-key': 'k1' } })],
        ['resume', api(url, `/runs/${runId}/resume`, { body: {}, headers: ACME })],
        ['cancel', api(url, `/runs/${runId}/cancel`, { method: 'POST', headers: ACME })],
        ['checkpoints', api(url, `/runs/${runId}/checkpoints`, { headers: ACME })],
        ['events', api(url, `/runs/${runId}/events`, { headers: ACME })],
      ];
      for (const [route, response] of routes) {
        const { status, body } = await response;
        expect({ route, status, code: body.error.code, reason: body.error.reason }).toEqual({ route, status: 404, code: 'NOT_FOUND', reason: 'removed_by_retention' });
        expect(body.error.message).toContain(`Run ${runId} was removed by retention (retentionDays: 30) at ${removedAt}: it ended canceled`);
        expect(body.error.message).not.toContain(tenantPrefix('acme'));
      }
    }
  });

  it("is a plain not-found for another tenant, and for every caller when an authorize hook decides who may know of runs", async () => {
    const { url, generated } = await removedRuns('other-tenant.db');
    for (const runId of ['chosen', generated]) {
      expect((await api(url, `/runs/${runId}`, { headers: GLOBEX })).body).toEqual({ error: { code: 'NOT_FOUND', message: `Run ${runId} was not found.` } });
    }
    // who started a removed run went with its checkpoints, so the hook cannot be asked about it
    const restricted = await removedRuns('authorize.db', { authorize: () => true });
    expect((await api(restricted.url, '/runs/chosen', { headers: ACME })).body).toEqual({ error: { code: 'NOT_FOUND', message: 'Run chosen was not found.' } });
  });
});
