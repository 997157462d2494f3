import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { consoleLogger, InvalidArgumentError, uuidv7, type Logger, type StorageAdapter, type Workflow } from '@savepoint/core';
import { z } from 'zod';
import { ChangeFeed } from './change-feed.js';
import { DeliveryGuard } from './delivery-guard.js';
import { EventLog } from './event-log.js';
import { HttpError } from './http-error.js';
import { toNodeHandler, type NodeHandler } from './node-adapter.js';
import { ANONYMOUS, Principal, type AuthHook } from './principal.js';
import { Reaper } from './reaper.js';
import { RunAccessPolicy, type AuthorizeHook } from './run-access.js';
import { Router } from './router.js';
import { RunRegistry } from './run-registry.js';
import { RunService, type RuntimeAdapter } from './run-service.js';
import { WebSocketGateway, type AttachOptions } from './websocket-gateway.js';
import { WorkflowCatalog, type CatalogEntry } from './workflow-catalog.js';
import { WorkflowDescriptions } from './workflow-descriptions.js';

/** Workflows by the name clients use; any `Workflow<Input, Output, Answers>`. */
export type RuntimeWorkflows = Record<string, Workflow<any, any, any>>;

export interface RuntimeOptions<W extends RuntimeWorkflows = RuntimeWorkflows> {
  /** Name (what clients send as `workflow`) -> Workflow. Each must checkpoint to `backend`. */
  workflows: W;
  /** A StorageAdapter with `capabilities.events` and `inbox`; shared by every process serving these runs. */
  backend: StorageAdapter;
  /** Gives the caller's principal, or null (401). Default: one anonymous tenant. */
  auth?: AuthHook;
  /**
   * Narrows the tenant's runs per principal and action (`read`, `answer`, `cancel`, `resume`, `start`, `delete`), e.g. to the
   * runs a user started (`run.startedBy`). A run it may not read is a 404; another refused action a 403 `FORBIDDEN`.
   * Default: every principal of a tenant may do everything with the tenant's runs.
   */
  authorize?: AuthorizeHook;
  /** How long a run waits live for an answer before it is checkpointed `pending_input` and released. Default 30 000. */
  hitlTimeoutMs?: number;
  /** Largest accepted request body (and WebSocket message). Default 64 KiB. */
  maxBodyBytes?: number;
  /** Deepest nesting of arrays/objects accepted in a request body or WebSocket message (400 `BODY_TOO_DEEP`). Default 64. */
  maxBodyDepth?: number;
  /** SSE comment / WebSocket ping interval. Default 15 000. */
  heartbeatMs?: number;
  /** Resumes runs whose worker died (lease expired, head still `active`); `false` disables it. Default every 5 000 ms. */
  reaper?: false | { intervalMs?: number };
  /** Names this process in leases and consumed inputs. Default `host:pid:random`. */
  workerId?: string;
  /**
   * How often waiters re-read storage when no notification reached them: the bound on cross-process
   * latency when the backend notifies only in-process (SQLite, file, memory). Default 250.
   */
  pollIntervalMs?: number;
  /** Mount point of the routes, e.g. `/api` for `/api/runs`. Default '' (routes at `/runs`). */
  basePath?: string;
  /** How long `close()` lets running nodes finish before it aborts them (they run again where the run resumes). Default 10 000. */
  closeTimeoutMs?: number;
  /**
   * How long `DELETE /runs/:id` waits for another process to stop a run it holds (the run must first wait for input to
   * read the cancel request) before answering 409 `RUN_LOCKED`. Default 10 000.
   */
  deleteTimeoutMs?: number;
  /** Unexpected errors (a 500, a lost event batch, a failed background resume). Default: `logger.error`, with `context` and the error as fields. */
  onError?: (error: unknown, context: string) => void;
  /**
   * Where the runtime reports: unexpected errors (unless `onError` is given) at `error`; at `info` how it learns of
   * changes made by other processes when the backend cannot notify them. pino, winston and `console` fit. Default:
   * core's `consoleLogger` (errors and warnings on the console, info silent).
   */
  logger?: Logger;
}

export interface Runtime<W extends RuntimeWorkflows = RuntimeWorkflows> {
  /**
   * Type-level only, never set: the workflows it serves, so `createRuntimeClient<typeof runtime>()` (from
   * `@savepoint/runtime-bridge/client`) types run inputs and outputs without importing any server code.
   */
  readonly '~workflows'?: W;
  /** Web-standard handler: Hono, Next.js route handlers, Bun, Deno, Cloudflare-style servers. */
  readonly handler: (request: Request) => Promise<Response>;
  /** `node:http` handler; also Express middleware (paths that are not the runtime's go to `next`). */
  readonly nodeHandler: NodeHandler;
  /** Serves the WebSocket protocol on `server` at `path` (default `/ws`). */
  attachWebSocket(server: Server, options?: AttachOptions): void;
  /** One reaper pass now; resolves with how many runs it resumed. */
  reap(): Promise<number>;
  /** What this process holds right now (for health checks): runs executing here, open event streams, WebSocket connections. */
  stats(): { runs: number; streams: number; sockets: number };
  /**
   * Graceful shutdown: refuses new work (503), stops the reaper and streams, pauses runs waiting for input, gives
   * runs busy in a node `closeTimeoutMs` to finish it before aborting it, commits a `paused` checkpoint of each run
   * and releases its lease (other processes' reapers resume it at once), then flushes events.
   */
  close(): Promise<void>;
  readonly workerId: string;
}

const Options = z.object({
  hitlTimeoutMs: z.number().int().min(0).default(30_000),
  maxBodyBytes: z.number().int().min(1).default(64 * 1024),
  maxBodyDepth: z.number().int().min(1).max(10_000).default(64),
  heartbeatMs: z.number().int().min(1).default(15_000),
  reaper: z.union([z.literal(false), z.object({ intervalMs: z.number().int().min(1).default(5_000) })]).default({ intervalMs: 5_000 }),
  workerId: z.string().min(1).max(200).optional(),
  pollIntervalMs: z.number().int().min(1).default(250),
  basePath: z.string().regex(/^(\/[^/]+)*$/, "a path like '/api', without a trailing slash").default(''),
  closeTimeoutMs: z.number().int().min(0).default(10_000),
  deleteTimeoutMs: z.number().int().min(0).default(10_000),
});

export function createRuntime<W extends RuntimeWorkflows>(options: RuntimeOptions<W>): Runtime<W> {
  const parsed = Options.safeParse(options);
  if (!parsed.success) throw new InvalidArgumentError(`createRuntime: invalid options: ${z.prettifyError(parsed.error)}`);
  const settings = parsed.data;
  const backend = requireRuntimeAdapter(options.backend);
  const catalog = new WorkflowCatalog(options.workflows, backend);
  const logger = options.logger ?? consoleLogger;
  const onError = options.onError ?? loggedErrors(logger);
  const workerId = settings.workerId ?? `${hostname()}:${process.pid}:${uuidv7().slice(-12)}`;
  const leaseTtlMs = Math.min(...catalog.all().map((e) => e.workflow.config.leaseTtlMs));
  // Each store runs adapter.setup() once and again after a failure; requests and the reaper wait for it, so a
  // fresh database works from the first call instead of answering 503 until something else sets it up.
  const ready = async () => {
    await Promise.all(catalog.all().map((entry) => entry.store.setup()));
  };

  const feed = new ChangeFeed(backend, settings.pollIntervalMs, onError, logger);
  const events = new EventLog(backend, feed, onError);
  const registry = new RunRegistry({ adapter: backend, feed, workerId, hitlTimeoutMs: settings.hitlTimeoutMs, closeTimeoutMs: settings.closeTimeoutMs, onError });
  // Implicit resume (an answer for a paused run, a dead worker's run): the run's own live channel then takes its inputs.
  const resume = (runId: string, { workflow }: CatalogEntry) =>
    registry.launch(runId, workflow, (context) => workflow.resume({ runId, ...context }));
  const guard = new DeliveryGuard({ adapter: backend, registry, resume, pollMs: settings.pollIntervalMs, onError });
  const access = new RunAccessPolicy(options.authorize);
  const service = new RunService({
    catalog,
    adapter: backend,
    registry,
    events,
    feed,
    guard,
    workerId,
    leaseTtlMs,
    access,
    pollMs: settings.pollIntervalMs,
    deleteTimeoutMs: settings.deleteTimeoutMs,
  });
  const authenticate = async (request: Request): Promise<Principal> => {
    const principal = options.auth ? await options.auth(request) : ANONYMOUS;
    if (principal === null || principal === undefined) throw new HttpError(401, 'UNAUTHENTICATED', 'Authentication is required.');
    const checked = Principal.safeParse(principal);
    if (!checked.success) throw new Error(`The auth hook returned an invalid principal: ${z.prettifyError(checked.error)}`);
    return checked.data;
  };
  const closing = new AbortController();
  const router = new Router({
    service,
    events,
    workflows: new WorkflowDescriptions(catalog),
    authenticate,
    maxBodyBytes: settings.maxBodyBytes,
    maxBodyDepth: settings.maxBodyDepth,
    heartbeatMs: settings.heartbeatMs,
    basePath: settings.basePath,
    closing: closing.signal,
    onError,
    ready,
  });
  const gateway = new WebSocketGateway({
    service,
    events,
    authenticate,
    heartbeatMs: settings.heartbeatMs,
    maxPayloadBytes: settings.maxBodyBytes,
    maxDepth: settings.maxBodyDepth,
    ready,
    onError,
  });
  const reaper = new Reaper({ catalog, adapter: backend, registry, feed, resume, ready, intervalMs: settings.reaper ? settings.reaper.intervalMs : 0, onError });
  if (settings.reaper) reaper.start();

  // Every event of these workflows goes to the shared log; the registry learns when a launch has claimed its run.
  const unlisten = catalog.all().map(({ workflow, store }) =>
    workflow.on('*', (event) => {
      events.append(event, store);
      registry.observe(event);
    }),
  );

  let closed: Promise<void> | undefined;
  return {
    workerId,
    handler: router.handle,
    nodeHandler: toNodeHandler(router.handle, { owns: (pathname) => router.owns(pathname), onError }),
    attachWebSocket: (server, attach) => gateway.attach(server, attach),
    reap: () => reaper.reap(),
    stats: () => ({ runs: registry.size, streams: events.following, sockets: gateway.connections }),
    close() {
      closed ??= (async () => {
        closing.abort();
        await reaper.close();
        await guard.close();
        await gateway.close();
        await registry.close();
        for (const stop of unlisten) stop();
        await events.flush();
        await feed.close();
      })();
      return closed;
    },
  };
}

/** `onError` through a logger: the message names what failed (a JSON logger may drop an Error's fields), the fields carry it. */
function loggedErrors(logger: Logger): (error: unknown, context: string) => void {
  return (error, context) => {
    const reason = error instanceof Error ? error.message : String(error);
    logger.error(`runtime: ${context}: ${reason}`, { context, error });
  };
}

function requireRuntimeAdapter(backend: StorageAdapter): RuntimeAdapter {
  const missing = (['appendEvents', 'readEvents', 'putInput', 'takeInputs', 'getInput'] as const).filter(
    (method) => typeof backend?.[method] !== 'function',
  );
  if (!backend || typeof backend.putHeader !== 'function' || missing.length > 0 || !backend.capabilities.events || !backend.capabilities.inbox) {
    const name = backend && typeof backend.name === 'string' ? backend.name : String(backend);
    throw new InvalidArgumentError(
      `createRuntime: backend "${name}" lacks the event log and input inbox the runtime needs (capabilities.events and .inbox${missing.length ? `; missing ${missing.join(', ')}` : ''}).`,
    );
  }
  return backend as RuntimeAdapter;
}
