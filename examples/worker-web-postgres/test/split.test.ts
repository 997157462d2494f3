// Both programs as real processes on a PostgreSQL schema of their own (dropped afterwards): a run started over
// HTTP on the web process is executed by the worker, its question is answered over HTTP, and it completes there.
// Without a server the suite skips loudly; under CI it fails instead.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DATABASE_URL, serverProblem } from '@savepoint/test-servers';
import pg from 'pg';

const describePg = serverProblem('postgres', 'the worker + web example') === null ? describe : describe.skip;
const schema = `sp_example_split_${process.pid}_${randomBytes(3).toString('hex')}`;
const auth = { authorization: 'Bearer t-counsel' };

interface Program {
  child: ChildProcess;
  /** The first stdout line matching the pattern (the program says it is ready). */
  ready: Promise<RegExpMatchArray>;
  output: () => string;
}

function start(script: string): Program {
  const child = spawn(process.execPath, [join(__dirname, '..', 'dist', script)], {
    // The worker waits live for an answer 1.5 s, then parks the run (pending_input, lease released).
    env: { ...process.env, DATABASE_URL, SAVEPOINT_SCHEMA: schema, PORT: '0', API_TOKEN: 't-counsel', SAVEPOINT_HITL_TIMEOUT_MS: '1500' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const ready = new Promise<RegExpMatchArray>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /web listening on (\S+)|worker (\S+) ready/.exec(output);
      if (match) resolve(match);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready:\n${output}`)));
  });
  return { child, ready, output: () => output };
}

async function stop(program: Program | undefined): Promise<void> {
  if (!program || program.child.exitCode !== null) return;
  const exited = new Promise((resolve) => program.child.once('exit', resolve));
  program.child.kill('SIGTERM');
  await exited;
}

describePg('worker + web on PostgreSQL', () => {
  let web: Program;
  let worker: Program;
  let base = '';

  beforeAll(async () => {
    web = start('web.js');
    worker = start('worker.js');
    base = (await web.ready)[1]!;
    await worker.ready;
  });

  afterAll(async () => {
    await Promise.all([stop(web), stop(worker)]);
    const pool = new pg.Pool({ connectionString: DATABASE_URL });
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  async function until(runId: string, status: string): Promise<Record<string, any>> {
    for (let i = 0; i < 400; i += 1) {
      const run = (await (await fetch(`${base}/runs/${runId}`, { headers: auth })).json()) as Record<string, any>;
      if (run.status === status) return run;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`run ${runId} never reached ${status}.\nweb:\n${web.output()}\nworker:\n${worker.output()}`);
  }

  async function startContract(title: string): Promise<{ runId: string; question: { nodePath: string; requestId: string; prompt: string } }> {
    const started = await fetch(`${base}/runs`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: 'contract', input: { title, text: 'Term. Price. Liability' } }),
    });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };
    const waiting = await until(runId, 'pending_input');
    return { runId, question: waiting.pendingInputs[0] };
  }

  function answer(runId: string, requestId: string): Promise<Response> {
    return fetch(`${base}/runs/${runId}/input`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ input: { 'sign-off': { approved: true, lawyer: 'R. Vale' } }, requestIds: { 'sign-off': requestId } }),
    });
  }

  /** Reads the run's event log (NDJSON, from the start) until an event of `type`. */
  async function waitForEvent(runId: string, type: string): Promise<void> {
    const controller = new AbortController();
    const response = await fetch(`${base}/runs/${runId}/events`, { headers: { ...auth, accept: 'application/x-ndjson' }, signal: controller.signal });
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += Buffer.from(chunk).toString();
        if (buffer.split('\n').some((line) => line.trim() !== '' && (JSON.parse(line) as { type: string }).type === type)) return;
      }
    } finally {
      controller.abort();
    }
  }

  it('starts on the web, runs on the worker, completes on the worker after an answer given to the web', async () => {
    const { runId, question } = await startContract('Supply agreement');
    expect(question).toMatchObject({ nodePath: 'sign-off', prompt: 'Sign off "Supply agreement" (3 clauses)?' });

    expect((await answer(runId, question.requestId)).status).toBe(202);
    const done = await until(runId, 'completed');
    expect(done.output).toEqual({ status: 'filed', by: 'R. Vale', extractedIn: worker.child.pid, filedIn: worker.child.pid });
  });

  it('hands a run parked for its answer back to a worker once the web process takes the answer', async () => {
    const { runId, question } = await startContract('Lease');
    await waitForEvent(runId, 'run_paused'); // the worker stopped waiting live and released the run

    expect((await answer(runId, question.requestId)).status).toBe(202);
    const done = await until(runId, 'completed');
    expect(done.output).toEqual({ status: 'filed', by: 'R. Vale', extractedIn: worker.child.pid, filedIn: worker.child.pid });
  });
});
