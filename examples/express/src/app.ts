import type { Server } from 'node:http';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import { createRuntime } from '@savepoint/runtime-bridge';
import express from 'express';
import { expenseWorkflow } from './workflow.js';

export interface AppOptions {
  /** The SQLite file every process of this host shares. */
  dbPath: string;
  /** Bearer tokens -> who they are. A stand-in for your sessions or JWTs. */
  users: Record<string, { tenantId: string; userId: string }>;
  /** How long a run waits live for an answer before it is checkpointed `pending_input` and released. */
  hitlTimeoutMs?: number;
}

/** The Express app with the runtime bridge mounted at /runs next to the app's own routes. */
export function createApp(options: AppOptions) {
  const backend = new SqliteBackend({ path: options.dbPath });
  const runtime = createRuntime({
    workflows: { expense: expenseWorkflow(backend) },
    backend,
    auth: (request) => options.users[request.headers.get('authorization')?.replace(/^Bearer /, '') ?? ''] ?? null,
    hitlTimeoutMs: options.hitlTimeoutMs ?? 30_000,
  });

  const app = express();
  // Mounted before body parsers: the runtime reads its own JSON bodies (size and depth limited).
  app.use(runtime.nodeHandler);
  app.get('/health', (_req, res) => {
    res.json({ ok: true, ...runtime.stats() });
  });

  /** Listens, serves the WebSocket protocol on /ws, and returns a `close` that drains runs before exiting. */
  function listen(port: number): Promise<{ server: Server; close: () => Promise<void> }> {
    return new Promise((resolve) => {
      const server = app.listen(port, () => {
        runtime.attachWebSocket(server, { path: '/ws' });
        resolve({
          server,
          close: async () => {
            server.close();
            server.closeAllConnections();
            await runtime.close(); // hands runs over: another process (or the next start) continues them
            await backend.close();
          },
        });
      });
    });
  }
  return { app, runtime, listen };
}
