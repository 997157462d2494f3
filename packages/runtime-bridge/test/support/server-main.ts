// A second runtime process for the multi-process tests: a node:http server on an ephemeral port over the
// storage the test process also uses (a SQLite file, a PostgreSQL schema or a Redis key prefix). Config comes
// as one JSON argument; it reports on stdout, one JSON object per line ({ event: 'listening', url },
// { event: 'executed', node }), and exits cleanly on SIGTERM.
import { createRuntime } from '../../src/index.js';
import { approvalWorkflow } from './approval-workflow.js';
import { openBackend, type BackendSpec } from './backends.js';
import { serve } from './http-server.js';

export interface ServerConfig {
  backend: BackendSpec;
  hitlTimeoutMs: number;
  leaseTtlMs: number;
  pollIntervalMs?: number;
  slow?: { hang: boolean };
}

const say = (message: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ pid: process.pid, ...message })}\n`);

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]!) as ServerConfig;
  const backend = openBackend(config.backend);
  await backend.setup();
  const { workflow } = approvalWorkflow({
    backend,
    leaseTtlMs: config.leaseTtlMs,
    ...(config.slow ? { slow: config.slow } : {}),
  });
  workflow.on('node_started', (event) => say({ event: 'executed', node: event.nodeId, runId: event.runId }));
  const runtime = createRuntime({
    workflows: { approval: workflow },
    backend,
    auth: (request) => ({ tenantId: request.headers.get('x-tenant') ?? 'acme', userId: 'child' }),
    hitlTimeoutMs: config.hitlTimeoutMs,
    reaper: false,
    ...(config.pollIntervalMs === undefined ? {} : { pollIntervalMs: config.pollIntervalMs }),
    onError: (error, context) => say({ event: 'error', context, message: String(error) }),
  });
  const server = await serve(runtime);
  process.once('SIGTERM', () => {
    void server
      .close()
      .then(() => backend.close())
      .then(() => process.exit(0));
  });
  say({ event: 'listening', url: server.url });
}

main().catch((error: unknown) => {
  say({ event: 'crashed', message: String(error) });
  process.exit(1);
});
