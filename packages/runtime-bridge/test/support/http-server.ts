// A real node:http server on an ephemeral 127.0.0.1 port serving a runtime (HTTP, SSE and WebSocket).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Runtime } from '../../src/index.js';

export interface TestServer {
  url: string;
  wsUrl: string;
  server: Server;
  close(): Promise<void>;
}

export async function serve(runtime: Runtime): Promise<TestServer> {
  const server = createServer(runtime.nodeHandler);
  runtime.attachWebSocket(server, { path: '/ws' });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    server,
    async close() {
      await runtime.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
