// The web process: serves the runtime bridge (HTTP, SSE) and executes no node. Every run it starts, and every
// run an answer resumes here, is handed to the workers at its first checkpoint (see hand-over.ts).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRuntime } from '@savepoint/runtime-bridge';
import { handOverToWorkers } from './hand-over.js';
import { backendFromEnv, contractWorkflow } from './workflows.js';

const backend = backendFromEnv();
const token = process.env.API_TOKEN ?? 'dev-token';
const runtime = createRuntime({
  workflows: { contract: handOverToWorkers(contractWorkflow(backend)) },
  backend,
  auth: (request) => (request.headers.get('authorization') === `Bearer ${token}` ? { tenantId: 'legal', userId: 'counsel' } : null),
  reaper: false, // orphaned runs are the workers' job
});

const server = createServer(runtime.nodeHandler);
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(`web listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void runtime.close().then(() => backend.close()).then(() => process.exit(0));
});
