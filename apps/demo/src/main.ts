// `pnpm demo`: the human-in-the-loop chat as a web app, on the embedded SQLite default.
//   PORT (default 3000; 0 = any free port), HOST (default 127.0.0.1), SAVEPOINT_DEMO_DB (default
//   .savepoint/demo.db under the directory where pnpm was run), OPENAI_BASE_URL / OPENAI_API_KEY /
//   OPENAI_MODEL for a real model, SAVEPOINT_HITL_TIMEOUT_MS (how long a run waits live for an answer),
//   SAVEPOINT_SHUTDOWN_GRACE_MS (on SIGTERM/Ctrl+C, how long a running step may finish before it is handed over).
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { modelFromEnv } from './chat-workflow.js';
import { startDemoServer } from './server.js';

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

function lanAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((info) => info !== undefined && info.family === 'IPv4' && !info.internal)
    .map((info) => info!.address);
}

async function main(): Promise<void> {
  // pnpm runs scripts inside the package; INIT_CWD is where the user typed `pnpm demo`.
  const dbPath = resolve(process.env['INIT_CWD'] ?? process.cwd(), process.env['SAVEPOINT_DEMO_DB'] ?? '.savepoint/demo.db');
  const port = intFromEnv('PORT', 3000);
  if (port > 65535) throw new Error(`PORT must be at most 65535, got ${port}`);
  const model = modelFromEnv();
  const tokenDelayMs = intFromEnv('SAVEPOINT_DEMO_TOKEN_DELAY_MS', 40);
  const host = process.env['HOST'] || '127.0.0.1';
  const demo = await startDemoServer({
    dbPath,
    port,
    host,
    modelLabel: model.label,
    ...(model.scripted ? { tokenDelayMs } : { llm: model.llm }),
    hitlTimeoutMs: intFromEnv('SAVEPOINT_HITL_TIMEOUT_MS', 10_000),
    shutdownGraceMs: intFromEnv('SAVEPOINT_SHUTDOWN_GRACE_MS', 5_000),
    searchDelayMs: intFromEnv('SAVEPOINT_DEMO_SEARCH_DELAY_MS', 600),
  });
  console.log(`Runs are stored in ${dbPath}; model: ${model.label}.`);
  console.log(`Savepoint demo: ${demo.url}`);
  if (host === '0.0.0.0' || host === '::') {
    // "Open it on my phone": the addresses other devices on this network can use.
    for (const address of lanAddresses()) console.log(`  on your network: http://${address}:${demo.port}`);
  }
  console.log('Press Ctrl+C to stop: runs in progress are checkpointed and handed over (the next start continues them).');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    console.log(`\n${signal}: handing runs over…`);
    demo.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  const code = (error as { code?: string }).code;
  if (code === 'EADDRINUSE') console.error(`Port ${process.env['PORT'] ?? 3000} is in use: set PORT to another port (PORT=0 picks a free one).`);
  else console.error(error);
  process.exitCode = 1;
});
