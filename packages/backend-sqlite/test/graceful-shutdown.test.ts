// workflow.shutdown() on a SQLite file shared by two connections (two processes' handles): the run is checkpointed
// `paused` and its lease released in the file, so the other connection resumes it at once although the lease ttl is an
// hour. (Between real processes on every backend: tests/multi-process/test/shutdown.test.ts.)
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Flow, FunctionNode, Workflow } from '@savepoint/core';
import { SqliteBackend } from '../src/index.js';
import { tempDir } from './temp-dir.js';

const HOUR = 3_600_000;

describe('graceful shutdown on a shared SQLite file', () => {
  let dir: ReturnType<typeof tempDir>;
  let backends: SqliteBackend[];

  beforeEach(() => {
    dir = tempDir();
    backends = [new SqliteBackend({ path: join(dir.path, 'shared.db') }), new SqliteBackend({ path: join(dir.path, 'shared.db') })];
  });
  afterEach(async () => {
    for (const backend of backends) await backend.close();
    dir.remove();
  });

  /** fetch → store; `fetch` waits for the test (or its signal) the first time, in process A only. */
  function setup() {
    const executions: string[] = [];
    let entered!: () => void;
    const inFetch = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const workflow = (backend: SqliteBackend, holds: boolean) =>
      new Workflow<string, string>({
        flow: new Flow({
          id: 'shutdown',
          nodes: [
            new FunctionNode<string, string>({
              id: 'fetch',
              run: async (url, ctx) => {
                executions.push('fetch');
                if (holds) {
                  entered();
                  await new Promise<void>((resolve, reject) => {
                    void released.then(resolve);
                    ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
                  });
                }
                return `page of ${url}`;
              },
            }),
            new FunctionNode<string, string>({ id: 'store', dependsOn: ['fetch'], run: (page) => (executions.push('store'), `stored ${page}`) }),
          ],
        }),
        checkpoint: { enabled: true, backend, leaseTtlMs: HOUR },
      });
    return { a: workflow(backends[0]!, true), b: workflow(backends[1]!, false), executions, inFetch, release };
  }

  it('a node that finishes within the grace is committed and not run again by the other connection', async () => {
    const { a, b, executions, inFetch, release } = setup();
    const running = a.run('example.org', { runId: 'r1' });
    await inFetch;
    const shutdown = a.shutdown({ graceMs: HOUR });
    release();
    await shutdown;
    expect(await running).toMatchObject({ status: 'paused' });
    expect(await b.getLatestCheckpoint({ runId: 'r1' })).toMatchObject({ status: 'paused', completedNodeIds: ['fetch'] });
    expect(await b.resume({ runId: 'r1' })).toMatchObject({ status: 'success', output: 'stored page of example.org' });
    expect(executions).toEqual(['fetch', 'store']);
  });

  it('a node interrupted after the grace runs again, once, on the other connection', async () => {
    const { a, b, executions, inFetch } = setup();
    const running = a.run('example.org', { runId: 'r2' });
    await inFetch;
    await a.shutdown({ graceMs: 0 });
    expect(await running).toMatchObject({ status: 'paused' });
    const head = await b.getLatestCheckpoint({ runId: 'r2' });
    expect(head?.nodeStates['fetch']).toMatchObject({ status: 'running' });
    expect(await b.resume({ runId: 'r2' })).toMatchObject({ status: 'success', output: 'stored page of example.org' });
    expect(executions).toEqual(['fetch', 'fetch', 'store']);
  });
});
