// The web demo's server: one node:http server for the static page, the runtime bridge's HTTP/SSE
// routes and its WebSocket, over the embedded SQLite backend.
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { LLM } from '@savepoint/core';
import { SqliteBackend } from '@savepoint/backend-sqlite';
import { createRuntime } from '@savepoint/runtime-bridge';
import { chatWorkflow, WORKFLOW_NAME } from './chat-workflow.js';
import { waitingFeed } from './waiting-feed.js';

export interface DemoServerOptions {
  /** The SQLite file (its directory is created). */
  dbPath: string;
  /** 0 = an ephemeral port (default 3000). */
  port?: number;
  /** Default `127.0.0.1`; `0.0.0.0` to open the page from a phone on the same network. */
  host?: string;
  llm?: LLM;
  /** Shown on the page. */
  modelLabel?: string;
  /** How long a run waits live for an answer before it is checkpointed as `pending_input` and released. */
  hitlTimeoutMs?: number;
  /** On close (SIGTERM, Ctrl+C), how long a running step may finish before it is interrupted and handed over. */
  shutdownGraceMs?: number;
  tokenDelayMs?: number;
  searchDelayMs?: number;
}

export interface DemoServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const PUBLIC_DIR = join(__dirname, '..', 'public');
const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: 'favicon.svg', type: 'image/svg+xml' },
};
const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

/** Routes that belong to the runtime bridge (everything else is the page or a 404). */
function isApi(pathname: string): boolean {
  return pathname === '/runs' || pathname.startsWith('/runs/');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...SECURITY_HEADERS });
  res.end(JSON.stringify(body));
}

export async function startDemoServer(options: DemoServerOptions): Promise<DemoServer> {
  mkdirSync(dirname(options.dbPath), { recursive: true });
  const backend = new SqliteBackend({ path: options.dbPath });
  const workflow = chatWorkflow(backend, {
    ...(options.llm ? { llm: options.llm } : {}),
    ...(options.tokenDelayMs === undefined ? {} : { tokenDelayMs: options.tokenDelayMs }),
    ...(options.searchDelayMs === undefined ? {} : { searchDelayMs: options.searchDelayMs }),
  });
  const runtime = createRuntime({
    workflows: { [WORKFLOW_NAME]: workflow },
    backend,
    hitlTimeoutMs: options.hitlTimeoutMs ?? 10_000,
    ...(options.shutdownGraceMs === undefined ? {} : { closeTimeoutMs: options.shutdownGraceMs }),
  });
  // Read once: the page is three small files, and a request can never name another file.
  const files = new Map<string, Buffer>();
  for (const { file } of Object.values(STATIC)) {
    try {
      files.set(file, readFileSync(join(PUBLIC_DIR, file)));
    } catch {
      // optional asset (favicon)
    }
  }
  const waiting = waitingFeed(workflow);
  const config = { workflow: WORKFLOW_NAME, model: options.modelLabel ?? 'scripted model (no network)' };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (isApi(url.pathname)) {
      runtime.nodeHandler(req, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: `${req.method} is not allowed on ${url.pathname}` } });
      return;
    }
    if (url.pathname === '/demo-config.json') {
      sendJson(res, 200, config);
      return;
    }
    if (url.pathname === '/waiting-events') {
      waiting.handle(res);
      return;
    }
    const asset = STATIC[url.pathname];
    const body = asset && files.get(asset.file);
    if (!asset || !body) {
      sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `no page at ${url.pathname}` } });
      return;
    }
    res.writeHead(200, { 'Content-Type': asset.type, 'Content-Length': body.length, ...SECURITY_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  runtime.attachWebSocket(server, { path: '/ws' });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    waiting.close();
    await runtime.close();
    await backend.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : 'localhost';
  const shownHost = host === '127.0.0.1' ? 'localhost' : host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    server,
    close() {
      closing ??= (async () => {
        await runtime.close();
        waiting.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await backend.close();
      })();
      return closing;
    },
  };
}
