// A server per test for a jest `describe` (not for spawned servers: http-server.ts is loaded outside jest too).
import { afterEach } from '@jest/globals';
import type { Runtime } from '../../src/index.js';
import { serve, type TestServer } from './http-server.js';

/** Serves runtimes for the tests of the enclosing `describe`, each closed after its test. */
export function serveEach(): (runtime: Runtime) => Promise<TestServer> {
  const open: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((server) => server.close()));
  });
  return async (runtime) => {
    const server = await serve(runtime);
    open.push(server);
    return server;
  };
}
