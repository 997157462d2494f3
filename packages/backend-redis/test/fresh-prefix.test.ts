import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, expect, it } from '@jest/globals';
import { BackendUnavailableError, type ChangeMessage } from '@savepoint/core';
import { RedisBackend } from '../src/index.js';
import { REDIS_URL, describeRedis, removeKeys, testClient, uniquePrefix } from './support/redis-server.js';

// Defect 7 of issue 8: a deployment's first request may be any call, on a key prefix (and a client) nobody set up.
const admin = testClient();
const prefixes: string[] = [];
const opened: RedisBackend[] = [];

function freshBackend(url = REDIS_URL, readyTimeoutMs?: number): RedisBackend {
  const prefix = uniquePrefix('fresh');
  prefixes.push(prefix);
  const backend = new RedisBackend({ url, prefix, ...(readyTimeoutMs === undefined ? {} : { readyTimeoutMs }) });
  opened.push(backend);
  return backend;
}

const blob = { hash: 'h1', data: 'blob data' };
const header = (id: string, runId: string) => ({
  id,
  flowId: 'flow-1',
  workflowId: null,
  runId,
  seq: 1,
  parentCheckpointId: null,
  status: 'active' as const,
  tenantId: null,
  pendingInput: false,
  createdAt: 1,
  updatedAt: 1,
  body: '{}',
});

/** A TCP forwarder to the test server on `port`: Redis "coming back" at an address that refused connections. */
async function forwarder(port: number): Promise<{ close(): Promise<void> }> {
  const target = new URL(REDIS_URL);
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(Number(target.port || 6379), target.hostname);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (taken, then freed). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

afterAll(async () => {
  await Promise.all(opened.map((backend) => backend.close()));
  for (const prefix of prefixes) await removeKeys(admin, prefix);
  await admin.quit();
});

describeRedis('RedisBackend on a fresh key prefix, without setup()', () => {
  // The conformance suite's fresh-storage section makes every other method the first call (createFresh).
  it('publish and subscribe work as first calls, and the subscriber hears the publish', async () => {
    await expect(freshBackend().publish({ runId: 'run-1', kind: 'event', seq: 1 })).resolves.toBeUndefined();
    const backend = freshBackend();
    const heard: ChangeMessage[] = [];
    await backend.subscribe('run-1', (message) => heard.push(message));
    await backend.publish({ runId: 'run-1', kind: 'input' });
    for (let i = 0; i < 500 && heard.length === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(heard).toEqual([{ runId: 'run-1', kind: 'input' }]);
  });

  it('concurrent first calls share one connection attempt and all succeed', async () => {
    const backend = freshBackend();
    const results = await Promise.all([
      backend.getHead('run-1'),
      backend.putHeader(header('cp-1', 'run-2')),
      backend.appendEvents('run-3', [{ type: 'run_started', data: '{}', ts: 1 }]),
      backend.acquireLease('run-4', 'worker-a', 60_000),
      backend.setup(),
    ]);
    expect(results[0]).toBeNull();
    expect(await backend.getHead('run-2')).toBe('cp-1');
  });

  it('a server whose script cache was flushed (a restart, a failover) runs every script on its first call', async () => {
    const backend = freshBackend();
    await backend.commitCheckpoint('run-1', [blob], header('cp-1', 'run-1'));
    await backend.putHeader(header('cp-2', 'run-2'));
    // Scripts run in pipelines too (deleteHeaders): ioredis remembers which it loaded on this connection.
    expect(await backend.deleteHeaders(['cp-2'])).toBe(1);
    await admin.script('FLUSH');
    expect(await backend.deleteHeaders(['cp-1'])).toBe(1);
    await backend.commitCheckpoint('run-1', [blob], header('cp-3', 'run-1'));
    expect(await backend.acquireLease('run-1', 'worker-a', 60_000)).toMatchObject({ token: 1 });
    expect(await backend.getHeader('cp-3')).toMatchObject({ id: 'cp-3' });
  });

  it('a server that was down at the first call: that call fails, a later one works once it is back', async () => {
    const port = await freePort();
    const backend = freshBackend(`redis://127.0.0.1:${port}/${new URL(REDIS_URL).pathname.slice(1) || '0'}`, 10_000);
    await expect(backend.putHeader(header('cp-1', 'run-1'))).rejects.toThrow(BackendUnavailableError);
    const proxy = await forwarder(port);
    try {
      await backend.putHeader(header('cp-1', 'run-1'));
      expect(await backend.getHead('run-1')).toBe('cp-1');
    } finally {
      await backend.close();
      await proxy.close();
    }
  });
});
