import { NotFoundError, uuidv7 } from '@savepoint/core';
import type { EventLog } from './event-log.js';
import { HttpError, errorResponse, jsonResponse } from './http-error.js';
import type { Principal } from './principal.js';
import { readJsonBody, requireJsonContentType } from './request-body.js';
import { cursorScope, decodeCursor, encodeCursor } from './list-cursor.js';
import {
  answersOf,
  CheckpointsPosition,
  CheckpointsQuery,
  IdempotencyKey,
  InputBody,
  ListRunsQuery,
  ResumeBody,
  RunsPosition,
  Seq,
  StartRunBody,
  parse,
} from './request-schemas.js';
import type { RunService } from './run-service.js';
import { eventStream } from './sse-stream.js';
import type { WorkflowDescriptions } from './workflow-descriptions.js';

export interface RouterOptions {
  service: RunService;
  events: EventLog;
  workflows: WorkflowDescriptions;
  authenticate: (request: Request) => Promise<Principal>;
  maxBodyBytes: number;
  maxBodyDepth: number;
  heartbeatMs: number;
  /** Prefix the routes are mounted under ('' = `/runs` at the root). */
  basePath: string;
  /** Aborted when the runtime closes: ends open event streams. */
  closing: AbortSignal;
  onError: (error: unknown, context: string) => void;
  /** Resolves once the backend is set up (tables, migrations); awaited before any route touches storage. */
  ready: () => Promise<void>;
}

interface RequestContext {
  request: Request;
  url: URL;
  params: string[];
  principal: Principal;
}

interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  pattern: RegExp;
  handle: (context: RequestContext) => Promise<Response>;
  /** Whether the route reads or writes storage (then it waits for the backend's setup). */
  storage: boolean;
}

const SEGMENT = '([^/]+)';

/** The HTTP API of docs/RUNTIME.md over the Web-standard Request/Response. */
export class Router {
  private readonly routes: Route[];

  constructor(private readonly options: RouterOptions) {
    const { service } = options;
    const route = (method: Route['method'], path: string, handle: Route['handle'], storage = true): Route => ({
      method,
      pattern: new RegExp(`^${path.replaceAll(':id', SEGMENT)}/?$`),
      handle,
      storage,
    });
    this.routes = [
      // The catalog is in memory: listing it works while the backend is down.
      route('GET', '/workflows', async () => jsonResponse(200, { workflows: options.workflows.list() }), false),
      route('POST', '/runs', async ({ request, principal }) => {
        const body = parse(StartRunBody, await this.readJson(request), 'body');
        return jsonResponse(202, await service.start(principal, body));
      }),
      route('GET', '/runs', async ({ url, principal }) => {
        const { cursor, ...query } = parse(ListRunsQuery, Object.fromEntries(url.searchParams), 'query');
        const scope = cursorScope('runs', principal, { status: query.status, workflow: query.workflow, mine: query.mine });
        const after = cursor === undefined ? undefined : decodeCursor(cursor, scope, RunsPosition);
        const { runs, next } = await service.list(principal, { ...query, after });
        return jsonResponse(200, { runs, nextCursor: next === undefined ? null : encodeCursor(scope, next) });
      }),
      route('GET', '/runs/:id', async ({ params, principal }) => jsonResponse(200, await service.get(principal, params[0]!))),
      route('DELETE', '/runs/:id', async ({ params, principal }) => jsonResponse(200, await service.delete(principal, params[0]!))),
      route('POST', '/runs/:id/input', async ({ request, params, principal }) => {
        const header = request.headers.get('idempotency-key');
        const key = header === null ? uuidv7() : parse(IdempotencyKey, header, 'Idempotency-Key header');
        const body = parse(InputBody, await this.readJson(request), 'body');
        return jsonResponse(202, await service.postInput(principal, params[0]!, answersOf(body), key));
      }),
      route('POST', '/runs/:id/resume', async ({ request, params, principal }) => {
        const body = parse(ResumeBody, (await this.readJson(request)) ?? {}, 'body');
        return jsonResponse(202, await service.resume(principal, params[0]!, body));
      }),
      route('POST', '/runs/:id/cancel', async ({ params, principal }) => jsonResponse(202, await service.cancel(principal, params[0]!))),
      route('GET', '/runs/:id/checkpoints', async ({ url, params, principal }) => {
        const { limit, cursor } = parse(CheckpointsQuery, Object.fromEntries(url.searchParams), 'query');
        const scope = cursorScope('checkpoints', principal, { runId: params[0]! });
        const after = cursor === undefined ? undefined : decodeCursor(cursor, scope, CheckpointsPosition);
        const { checkpoints, next } = await service.checkpoints(principal, params[0]!, { limit, after });
        return jsonResponse(200, { checkpoints, nextCursor: next === undefined ? null : encodeCursor(scope, next) });
      }),
      route('GET', '/runs/:id/checkpoints/:id', async ({ params, principal }) =>
        jsonResponse(200, await service.checkpoint(principal, params[0]!, params[1]!)),
      ),
      route('GET', '/runs/:id/events', (context) => this.events(context)),
    ];
  }

  /** Whether a path belongs to these routes (the Node adapter hands everything else to `next`). */
  owns(pathname: string): boolean {
    const path = this.routePath(pathname);
    return path !== undefined && this.routes.some((r) => r.pattern.test(path));
  }

  handle = async (request: Request): Promise<Response> => {
    try {
      const url = new URL(request.url);
      const path = this.routePath(url.pathname);
      const matching = path === undefined ? [] : this.routes.filter((r) => r.pattern.test(path));
      if (matching.length === 0) throw new NotFoundError(`No route for ${request.method} ${url.pathname}.`);
      const route = matching.find((r) => r.method === request.method);
      if (!route) {
        const allow = matching.map((r) => r.method).join(', ');
        const response = errorResponse(new HttpError(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here; use ${allow}.`), this.report);
        response.headers.set('allow', allow);
        return response;
      }
      const params = route.pattern.exec(path!)!.slice(1).map(decodeSegment);
      if (route.method === 'POST') requireJsonContentType(request);
      const principal = await this.options.authenticate(request);
      if (route.storage) await this.options.ready();
      return await route.handle({ request, url, params, principal });
    } catch (error) {
      return errorResponse(error, this.report);
    }
  };

  private readonly report = (error: unknown) => this.options.onError(error, 'handling a request');

  private routePath(pathname: string): string | undefined {
    const { basePath } = this.options;
    if (basePath === '') return pathname;
    return pathname === basePath || pathname.startsWith(`${basePath}/`) ? pathname.slice(basePath.length) : undefined;
  }

  private async events({ request, url, params, principal }: RequestContext): Promise<Response> {
    const runId = params[0]!;
    const lastEventId = request.headers.get('last-event-id');
    const raw = lastEventId ?? url.searchParams.get('after');
    const after = raw === null ? 0 : parse(Seq, raw, lastEventId === null ? '`after` query parameter' : 'Last-Event-ID header');
    const target = await this.options.service.open(principal, runId);
    const ndjson = (request.headers.get('accept') ?? '').includes('application/x-ndjson');
    const stop = new AbortController();
    const abort = () => stop.abort();
    // Either the client going away (request.signal) or the runtime closing ends the stream.
    request.signal.addEventListener('abort', abort, { once: true });
    this.options.closing.addEventListener('abort', abort, { once: true });
    stop.signal.addEventListener('abort', () => {
      request.signal.removeEventListener('abort', abort);
      this.options.closing.removeEventListener('abort', abort);
    });
    if (this.options.closing.aborted) stop.abort();
    const body = eventStream((signal) => this.options.events.follow(target, after, signal), {
      format: ndjson ? 'ndjson' : 'sse',
      heartbeatMs: this.options.heartbeatMs,
      signal: stop.signal,
      onError: this.options.onError,
    });
    return new Response(body, {
      status: 200,
      headers: {
        'content-type': ndjson ? 'application/x-ndjson; charset=utf-8' : 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
      },
    });
  }

  private readJson(request: Request): Promise<unknown> {
    return readJsonBody(request, this.options);
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // Not a valid escape: no run has such an id.
    return '\0';
  }
}
