import { afterAll, describe, expect, it } from '@jest/globals';
import { PostgresBackend } from '@savepoint/backend-postgres';
import type { Logger } from '@savepoint/core';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { createRuntime } from '../src/index.js';
import { api, until } from './support/api.js';
import { approvalWorkflow } from './support/approval-workflow.js';
import { DATABASE_URL, postgresTarget } from './support/backends.js';
import { serve } from './support/http-server.js';

// A PostgresBackend on the caller's Kysely instance cannot LISTEN (Kysely hides its connections' notifications)
// and declares no `notify` capability. The runtime reads the capability instead of trying to subscribe: no error
// at every start, one info line saying that it polls, and runs (answers included) still work.
const target = postgresTarget();
afterAll(() => target.dispose());

function recordingLogger() {
  const lines: Array<{ level: keyof Logger; message: string; fields?: Record<string, unknown> }> = [];
  const at =
    (level: keyof Logger) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, message, ...(fields ? { fields } : {}) });
    };
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

describe('createRuntime on PostgresBackend({ db: kysely })', () => {
  if (target.problem !== null) {
    it.skip(`(skipped: ${target.problem})`, () => undefined);
    return;
  }

  it('says once, at info, that it polls; reports no subscribe error; an answer still reaches the run', async () => {
    const spec = target.spec('kysely');
    if (spec.kind !== 'postgres') throw new Error('a PostgreSQL target gives a postgres spec');
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4, connectionTimeoutMillis: 5000 });
    pool.on('error', () => undefined);
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
    const backend = new PostgresBackend({ db, schema: spec.schema, tablePrefix: spec.tablePrefix });
    const errors: string[] = [];
    const { logger, lines } = recordingLogger();
    const { workflow, counters } = approvalWorkflow({ backend });
    const runtime = createRuntime({
      workflows: { approval: workflow },
      backend,
      logger,
      onError: (_error, context) => errors.push(context),
      hitlTimeoutMs: 0,
      reaper: false,
      pollIntervalMs: 20,
    });
    const server = await serve(runtime);
    try {
      const runId = (await api(server.url, '/runs', { body: { workflow: 'approval', input: { topic: 'AI' } } })).body.runId as string;
      const pending = await until('the question to be stored', async () => (await api(server.url, `/runs/${runId}`)).body.pendingInputs?.[0]);
      await until('the run to pause', () => (runtime.stats().runs === 0 ? true : undefined));
      expect((await api(server.url, `/runs/${runId}/input`, { body: { input: { approve: { ok: true } }, requestIds: { approve: pending.requestId } } })).status).toBe(202);
      await until('the run to complete', async () => ((await api(server.url, `/runs/${runId}`)).body.status === 'completed' ? true : undefined));
      expect(counters.publish).toBe(1);
    } finally {
      await server.close();
      await backend.close();
      await db.destroy();
    }
    expect(errors).toEqual([]);
    expect(lines).toEqual([
      {
        level: 'info',
        message: expect.stringMatching(/"postgres" backend does not notify other processes.*polling every 20 ms/),
        fields: { backend: 'postgres', pollIntervalMs: 20 },
      },
    ]);
  });

  it('with a pool it subscribes (cross-process notification) and logs nothing', async () => {
    const spec = target.spec('pool');
    if (spec.kind !== 'postgres') throw new Error('a PostgreSQL target gives a postgres spec');
    const backend = new PostgresBackend({ connectionString: DATABASE_URL, schema: spec.schema, tablePrefix: spec.tablePrefix });
    const errors: string[] = [];
    const { logger, lines } = recordingLogger();
    const { workflow } = approvalWorkflow({ backend });
    const runtime = createRuntime({ workflows: { approval: workflow }, backend, logger, onError: (_e, context) => errors.push(context), reaper: false });
    const server = await serve(runtime);
    try {
      expect((await api(server.url, '/runs?status=pending_input')).status).toBe(200);
    } finally {
      await server.close();
      await backend.close();
    }
    expect(errors).toEqual([]);
    expect(lines).toEqual([]);
  });
});
