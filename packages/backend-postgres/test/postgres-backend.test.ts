import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  BackendUnavailableError,
  CheckpointStore,
  CHECKPOINT_SCHEMA_VERSION,
  Flow,
  FunctionNode,
  InvalidArgumentError,
  LeaseLostError,
  silentLogger,
  Workflow,
  uuidv7,
  type FlowCheckpoint,
  type WorkflowEvent,
} from '@savepoint/core';
import { CamelCasePlugin, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { PostgresBackend } from '../src/index.js';
import { toSavepointError } from '../src/pg-errors.js';
import { header } from './headers.js';
import { DATABASE_URL, describePg, dropSchema, testPool, uniqueSchema } from './server.js';

const schema = uniqueSchema('backend');
const pool = testPool({ max: 6 });
let prefixes = 0;
const nextPrefix = () => `b${++prefixes}_`;

async function backendOn(options: Partial<ConstructorParameters<typeof PostgresBackend>[0]> = {}): Promise<PostgresBackend> {
  const backend = new PostgresBackend({ pool, schema, tablePrefix: nextPrefix(), ...options } as ConstructorParameters<typeof PostgresBackend>[0]);
  await backend.setup();
  return backend;
}

/** Connections of this database opened under `applicationName`. */
async function connectionsOf(applicationName: string): Promise<number[]> {
  const { rows } = await pool.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
  return rows.map((row) => row.pid as number);
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

afterAll(async () => {
  await dropSchema(pool, schema).catch(() => undefined);
  await pool.end();
});

describePg('PostgresBackend ownership', () => {
  it('close() leaves a caller-owned pool open, and the closed backend refuses further calls', async () => {
    const backend = await backendOn();
    await backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 0 }));
    await backend.close();
    await backend.close();
    expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    await expect(backend.getHead('run-1')).rejects.toThrow(BackendUnavailableError);
    await expect(backend.getHead('run-1')).rejects.toThrow(/closed/);
    const again = new PostgresBackend({ pool, schema, tablePrefix: `b${prefixes}_` });
    expect(await again.getHead('run-1')).toBe('cp-1');
  });

  it('works on a caller-owned Kysely instance, bypassing its plugins, and close() leaves it open', async () => {
    const own = testPool({ max: 2 });
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: own }), plugins: [new CamelCasePlugin()] });
    try {
      const backend = await backendOn({ db, pool: undefined });
      const written = header({ id: 'cp-1', runId: 'run-1', seq: 0, workflowId: 'wf', tenantId: 'acme', pendingInput: true });
      await backend.putHeader(written, { expectedHead: null });
      expect(await backend.getHeader('cp-1')).toEqual(written);
      expect(await backend.queryHeaders({ pendingInput: true })).toEqual([written]);
      await backend.close();
      expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(db)).rows[0]!.one).toBe(1);
    } finally {
      await db.destroy();
    }
  });

  it('ends the pool it created from a connection string', async () => {
    const applicationName = `sp_owned_${process.pid}`;
    const backend = await backendOn({ pool: undefined, connectionString: DATABASE_URL, poolConfig: { application_name: applicationName } });
    expect(await backend.getHead('nothing')).toBeNull();
    expect(await connectionsOf(applicationName)).not.toHaveLength(0);
    await backend.close();
    await until(async () => ((await connectionsOf(applicationName)).length === 0 ? true : undefined), 'the pool to close');
    await expect(backend.getHead('nothing')).rejects.toThrow(BackendUnavailableError);
  });
});

describePg('PostgresBackend data', () => {
  it('round-trips \\u0000 inside user strings through the store (the codec escapes it; text columns cannot hold NUL)', async () => {
    const backend = await backendOn();
    const store = new CheckpointStore(backend);
    const nul = 'before\u0000after';
    const at = new Date(Date.UTC(2025, 0, 1));
    const checkpoint: FlowCheckpoint = {
      id: uuidv7(),
      flowId: 'flow-nul',
      runId: 'run-nul',
      seq: 0,
      parentCheckpointId: null,
      status: 'active',
      nodeStates: {
        fetch: {
          nodeId: 'fetch',
          nodeType: 'function',
          status: 'success',
          input: { [`key${nul}`]: nul },
          output: { text: nul, list: [nul, '\u0000', 'x'.repeat(5000) + '\u0000'] },
          attempt: 1,
        },
      },
      completedNodeIds: ['fetch'],
      pendingNodeIds: [],
      originalInput: { prompt: nul, nested: { deep: [nul] } },
      originalConfig: {},
      pendingInputs: [],
      createdAt: at,
      updatedAt: at,
      schemaVersion: CHECKPOINT_SCHEMA_VERSION,
      libraryVersion: '0.1.0',
      metadata: { note: nul },
    };
    await store.save(checkpoint);
    expect(await new CheckpointStore(backend).load(checkpoint.id)).toEqual(checkpoint);
  });

  it('refuses a raw NUL character with InvalidArgumentError, not a driver error', async () => {
    const backend = await backendOn();
    await expect(backend.putBlobs('run-1', [{ hash: 'h', data: 'a\u0000b' }])).rejects.toThrow(InvalidArgumentError);
    await expect(backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 0, body: '\u0000' }))).rejects.toThrow(InvalidArgumentError);
    expect(await backend.getHead('run-1')).toBeNull();
  });

  it('writes a huge blob batch in chunks, insert-or-ignore across chunks', async () => {
    const backend = await backendOn();
    // More blobs than one statement takes.
    const blobs = Array.from({ length: 10_050 }, (_, i) => ({ hash: `h${i}`, data: `data ${i}` }));
    await backend.putBlobs('run-1', blobs.slice(0, 10).map((blob) => ({ ...blob, data: 'first write wins' })));
    await backend.putBlobs('run-1', blobs);
    const found = await backend.getBlobs('run-1', blobs.map((blob) => blob.hash));
    expect(found.size).toBe(10_050);
    expect(found.get('h0')).toBe('first write wins');
    expect(found.get('h10049')).toBe('data 10049');
    // Two blobs too large to share one statement.
    const big = ['a', 'b'].map((hash) => ({ hash, data: hash.repeat(9 * 1024 * 1024) }));
    await backend.putBlobs('run-2', big);
    expect([...(await backend.getBlobs('run-2', ['a', 'b'])).values()].map((data) => data.length)).toEqual([9 * 1024 * 1024, 9 * 1024 * 1024]);
    expect(await backend.getBlobs('run-2', [])).toEqual(new Map());
  });

  it('commits a checkpoint whose blobs exceed one statement: the blobs first, then the one-statement commit', async () => {
    const backend = await backendOn();
    const big = ['a', 'b'].map((hash) => ({ hash, data: hash.repeat(9 * 1024 * 1024) }));
    await backend.commitCheckpoint('run-1', big, header({ id: 'cp-1', runId: 'run-1', seq: 0 }), { expectedHead: null });
    expect([...(await backend.getBlobs('run-1', ['a', 'b'])).keys()]).toEqual(['a', 'b']);
    expect(await backend.getHead('run-1')).toBe('cp-1');
  });
});

describePg('PostgresBackend leases (database clock)', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('computes expiresAt from the database clock and ignores a worker clock that is off by an hour', async () => {
    const backend = await backendOn();
    const serverNow = async () => Number((await pool.query('SELECT extract(epoch FROM clock_timestamp()) * 1000 AS ms')).rows[0].ms);
    const before = await serverNow();
    const lease = (await backend.acquireLease('run-1', 'worker-a', 60_000))!;
    const after = await serverNow();
    expect(lease.expiresAt).toBeGreaterThanOrEqual(Math.floor(before) + 60_000);
    expect(lease.expiresAt).toBeLessThanOrEqual(after + 60_000);

    // A worker whose clock runs an hour ahead must neither see the lease as expired nor take it over.
    jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 3_600_000);
    expect(await backend.acquireLease('run-1', 'worker-b', 60_000)).toBeNull();
    await backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 0 }), { lease });
    const renewed = (await backend.renewLease(lease, 120_000))!;
    expect(renewed.expiresAt).toBeGreaterThan(lease.expiresAt);
    expect(renewed.expiresAt).toBeLessThan(Date.now());
  });

  it('keeps the fencing token increasing across release and re-acquire', async () => {
    const backend = await backendOn();
    const tokens: number[] = [];
    for (const owner of ['worker-a', 'worker-a', 'worker-b', 'worker-a']) {
      const lease = (await backend.acquireLease('run-1', owner, 60_000))!;
      tokens.push(lease.token);
      await backend.releaseLease(lease);
    }
    expect(tokens).toEqual([1, 2, 3, 4]);
    const expired = (await backend.acquireLease('run-1', 'worker-a', 1))!;
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Even its own owner gets a new token once the lease expired: a write in between would have been refused.
    expect((await backend.acquireLease('run-1', 'worker-a', 60_000))!.token).toBe(expired.token + 1);
    await expect(backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 0 }), { lease: expired })).rejects.toThrow(
      /taken over by worker-a \(token 6\)/,
    );
  });

  it('a lease for a run that never had one is lost; moved heads and leased runs name what they found', async () => {
    const backend = await backendOn();
    const ghost = { runId: 'run-1', owner: 'worker-a', token: 1, expiresAt: Date.now() + 60_000 };
    await expect(backend.commitCheckpoint('run-1', [], header({ id: 'cp-1', runId: 'run-1', seq: 0 }), { lease: ghost })).rejects.toThrow(
      /worker-a on run run-1 \(token 1\) expired or was released/,
    );
    await backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 0 }), { expectedHead: null });
    await expect(backend.putHeader(header({ id: 'cp-2', runId: 'run-1', seq: 1 }), { expectedHead: 'cp-0' })).rejects.toThrow(
      /its head is cp-1, not cp-0/,
    );
    await expect(backend.putHeader(header({ id: 'cp-2', runId: 'run-2', seq: 1 }), { expectedHead: 'cp-0' })).rejects.toThrow(
      /its head is empty, not cp-0/,
    );
    await backend.acquireLease('run-1', 'worker-b', 60_000);
    await expect(backend.putHeader(header({ id: 'cp-2', runId: 'run-1', seq: 1 }))).rejects.toThrow(/Run run-1 is leased by worker-b/);
    expect(await backend.getHeader('cp-2')).toBeNull();
  });

  it('a writer whose lease was released and then taken by another worker cannot commit', async () => {
    const backend = await backendOn();
    const old = (await backend.acquireLease('run-1', 'worker-a', 60_000))!;
    await backend.releaseLease(old);
    const current = (await backend.acquireLease('run-1', 'worker-b', 60_000))!;
    await expect(backend.putHeader(header({ id: 'cp-1', runId: 'run-1', seq: 0 }), { lease: old })).rejects.toThrow(LeaseLostError);
    await backend.putHeader(header({ id: 'cp-2', runId: 'run-1', seq: 0 }), { lease: current, expectedHead: null });
    expect(await backend.getHead('run-1')).toBe('cp-2');
  });
});

describePg('PostgresBackend when the server goes away', () => {
  let silent: Server;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    // Accepts TCP connections and never answers: a hung server or a black-holed network path.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('a server that is down at construction: setup() fails with BackendUnavailableError', async () => {
    const backend = new PostgresBackend({ connectionString: 'postgres://postgres@127.0.0.1:1/test' });
    await expect(backend.setup()).rejects.toThrow(BackendUnavailableError);
    await expect(backend.getHead('run-1')).rejects.toThrow(/ECONNREFUSED/);
    await backend.close();

    const unreachable = new pg.Pool({ host: '127.0.0.1', port: 1, connectionTimeoutMillis: 1000 });
    const onPool = new PostgresBackend({ pool: unreachable });
    await expect(onPool.setup()).rejects.toThrow(BackendUnavailableError);
    await unreachable.end();
  }, 10_000);

  it('a server that never answers: BackendUnavailableError after connectionTimeoutMillis, never a hang', async () => {
    const { port } = silent.address() as { port: number };
    const backend = new PostgresBackend({ connectionString: `postgres://postgres@127.0.0.1:${port}/test`, connectionTimeoutMillis: 300 });
    await expect(backend.setup()).rejects.toThrow(BackendUnavailableError);
    await expect(backend.acquireLease('run-1', 'worker-a', 1000)).rejects.toThrow(/timeout/i);
    await backend.close();
  }, 10_000);

  it('recovers once connections are terminated: the pool opens new ones', async () => {
    const applicationName = `sp_recover_${process.pid}`;
    const logger = { ...silentLogger, warn: jest.fn() };
    const backend = await backendOn({ pool: undefined, connectionString: DATABASE_URL, poolConfig: { application_name: applicationName, max: 3 }, logger });
    await Promise.all([backend.getHead('a'), backend.getHead('b'), backend.getHead('c')]);
    const pids = await connectionsOf(applicationName);
    expect(pids.length).toBeGreaterThan(0);
    await pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
    await until(async () => ((await connectionsOf(applicationName)).some((pid) => pids.includes(pid)) ? undefined : true), 'the old connections to end');
    // The idle connections' end reaches the logger (it used to be dropped silently).
    await until(async () => (logger.warn.mock.calls.length > 0 ? true : undefined), 'a warning');
    expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/closed an idle connection of the pool/), { backend: 'postgres' });
    // Each call either reaches the server or reports it unavailable; none hangs, and the pool heals.
    await until(async () => {
      try {
        return (await backend.getHead('a')) === null ? true : undefined;
      } catch (error) {
        expect(BackendUnavailableError.isInstance(error)).toBe(true);
        return undefined;
      }
    }, 'a working connection');
    await backend.putHeader(header({ id: 'cp-1', runId: 'a', seq: 0 }));
    expect(await backend.getHead('a')).toBe('cp-1');
    await backend.close();
  });

  for (const retried of [false, true]) {
    it(
      retried
        ? 'a checkpoint write cut off by pg_terminate_backend is retried on a new connection and lands: no warning'
        : 'without write retries, a run whose checkpoint write is cut off by pg_terminate_backend continues with a warning, and the next checkpoint lands',
      async () => {
        const applicationName = `sp_midrun_${process.pid}`;
        const prefix = nextPrefix();
        const backend = new PostgresBackend({
          connectionString: DATABASE_URL,
          poolConfig: { application_name: applicationName },
          schema,
          tablePrefix: prefix,
        });
        const admin = await pool.connect();
        let terminated: Promise<number> | undefined;
        try {
          const flow = new Flow({
            id: 'midrun',
            nodes: [
              new FunctionNode<number, number>({ id: 'a', run: (x) => x + 1 }),
              new FunctionNode<number, number>({
                id: 'b',
                dependsOn: ['a'],
                run: async (x) => {
                  // From a second connection: hold the heads table, so b's checkpoint write waits on it, then terminate
                  // the waiting connection. The write is cut off mid-transaction, exactly as a server restart would.
                  await admin.query('BEGIN');
                  await admin.query(`LOCK TABLE "${schema}"."${prefix}heads" IN ACCESS EXCLUSIVE MODE`);
                  terminated = until(async () => {
                    const { rows } = await pool.query(
                      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
                      [applicationName],
                    );
                    return rows.length > 0 ? rows.length : undefined;
                  }, 'the checkpoint write to wait on the lock').finally(() => admin.query('ROLLBACK'));
                  return x + 1;
                },
              }),
              new FunctionNode<number, number>({ id: 'c', dependsOn: ['b'], run: (x) => x + 1 }),
            ],
          });
          const workflow = new Workflow<number, number>({
            flow,
            checkpoint: { enabled: true, backend, onCheckpointError: 'continue', logger: silentLogger, ...(retried ? {} : { writeRetry: { maxAttempts: 1 } }) },
          });
          const failed: WorkflowEvent[] = [];
          workflow.on('checkpoint_failed', (event) => failed.push(event));

          const result = await workflow.run(0);
          expect(await terminated).toBe(1);
          expect(result.status).toBe('success');
          expect(result.output).toBe(3);
          if (retried) {
            expect(result.warnings).toEqual([]);
            expect(failed).toEqual([]);
          } else {
            expect(result.warnings).toEqual([
              { code: 'CHECKPOINT_WRITE_FAILED', message: expect.stringMatching(/57P01.*terminated the connection/) },
            ]);
            expect(failed).toHaveLength(1);
            expect(BackendUnavailableError.isInstance((failed[0]!.data as { error: unknown }).error)).toBe(true);
          }

          // The checkpoints after the failed one were written on a new connection, and the run head is complete.
          const head = await workflow.getLatestCheckpoint({ runId: result.runId });
          expect(head?.id).toBe(result.checkpointId);
          expect(head?.status).toBe('completed');
          expect(Object.values(head!.nodeStates).map((state) => state.status)).toEqual(['success', 'success', 'success']);
          const seqs = (await workflow.listCheckpoints({ runId: result.runId })).map((cp) => cp.seq);
          expect(seqs[0]).toBe(seqs.length - 1);
        } finally {
          admin.release();
          await backend.close();
        }
      },
    );
  }
});

describe('PostgresBackend error mapping', () => {
  // The mapping is exercised against the real server above; these are the shapes that are hard to provoke.
  const pgError = (code: string, message = 'server said no') => Object.assign(new Error(message), { code });

  it.each([
    ['08006', 'connection failure'],
    ['57P01', 'terminating connection due to administrator command'],
    ['57P03', 'the database system is starting up'],
    ['53300', 'sorry, too many clients already'],
    ['28P01', 'password authentication failed'],
    ['3D000', 'database "nope" does not exist'],
  ])('SQLSTATE %s is BackendUnavailableError', (code, message) => {
    const mapped = toSavepointError(pgError(code, message), 'read a run head');
    expect(BackendUnavailableError.isInstance(mapped)).toBe(true);
    expect((mapped as Error).message).toContain(code);
    // What the server said (names of databases, users, schemas) stays in `cause`, out of the message.
    expect((mapped as Error).message).not.toContain(message);
    expect((mapped as Error).cause).toBeInstanceOf(Error);
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'])('%s is BackendUnavailableError', (code) => {
    expect(BackendUnavailableError.isInstance(toSavepointError(pgError(code), 'write blobs'))).toBe(true);
  });

  it('recognises pg and pg-pool messages, and AggregateErrors of connection attempts', () => {
    for (const message of [
      'Connection terminated unexpectedly',
      'timeout exceeded when trying to connect',
      'Client has encountered a connection error and is not queryable',
      'Query read timeout',
    ]) {
      expect(BackendUnavailableError.isInstance(toSavepointError(new Error(message), 'x'))).toBe(true);
    }
    const aggregate = new AggregateError([pgError('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432'), pgError('ECONNREFUSED')], 'connect failed');
    const mapped = toSavepointError(aggregate, 'x') as Error;
    expect(BackendUnavailableError.isInstance(mapped)).toBe(true);
    expect(mapped.message).toBe('PostgreSQL could not x (ECONNREFUSED): check that the server is running and reachable.');
  });

  it('leaves other errors untouched', () => {
    const syntax = pgError('42601', 'syntax error');
    expect(toSavepointError(syntax, 'x')).toBe(syntax);
    const plain = new Error('something else');
    expect(toSavepointError(plain, 'x')).toBe(plain);
    expect(toSavepointError('a string', 'x')).toBe('a string');
    const aggregate = new AggregateError([new Error('a'), new Error('b')]);
    expect(toSavepointError(aggregate, 'x')).toBe(aggregate);
  });
});
