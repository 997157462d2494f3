// Browser-safe: no server code, no node: modules (see client.ts).
import type { CheckpointStatus } from '@savepoint/core';
import { errorFromResponse, unreachable } from './client-error.js';
import { followEvents, type EventsOptions } from './client-events.js';
import type {
  AnyWorkflows,
  CheckpointInfo,
  CheckpointPage,
  ListCheckpointsQuery,
  ListRunsQuery,
  RunDeletion,
  RunInfo,
  RunInputOf,
  RunOutputOf,
  RunPage,
  RunRef,
  RunSummary,
  StartedRun,
  WorkflowName,
  WorkflowsOf,
} from './client-types.js';
import type { EventEnvelope } from './events.js';
import type { WorkflowDescription } from './workflow-descriptions.js';

export interface RuntimeClientOptions {
  /** Where the runtime's routes are mounted: `https://api.example.com`, `https://example.com/api` (its `basePath`), or `/api` in a browser. */
  baseUrl: string;
  /** Default: the global `fetch`. Pass one to add credentials, retries or tracing. */
  fetch?: (input: string, init: RequestInit) => Promise<Response>;
  /** Sent with every request (e.g. `authorization`); a function is called per request, so a token can be refreshed. */
  headers?: HeadersInit | (() => HeadersInit | Promise<HeadersInit>);
}

/** What `new Headers(…)` takes: a record, a list of pairs, or `Headers`. */
export type HeadersInit = ConstructorParameters<typeof Headers>[0];

export interface StartRunOptions {
  /** Your id for the run (1-200 of A-Z a-z 0-9 . _ : -), unique within your tenant; default: the server makes one. */
  runId?: string;
  /** Kept with the run's checkpoints (and sealed like them). */
  metadata?: Record<string, unknown>;
}

export interface AnswerOptions {
  /** The question's `requestId` (from `approval_requested` or `pendingInputs`): the answer then answers that question only. */
  requestId?: string;
  /** Makes a retry safe: the same key gets the same answer without storing the answer twice. */
  idempotencyKey?: string;
}

export interface ResumeRunOptions {
  /** Resume from this checkpoint: a fork (a new runId) unless it is the run's head. */
  checkpointId?: string;
  /** Answers by nodePath. */
  input?: Record<string, unknown>;
  /** nodePath -> the requestId each answer is for. */
  requestIds?: Record<string, string>;
}

/** A run's id, or anything that carries one (`startRun`'s result, a `getRun` answer). */
export type RunId = string | { runId: string };

/** The runtime's HTTP API, typed by the workflows `W` it serves. Every refusal throws a `RuntimeClientError`. */
export interface RuntimeClient<W extends AnyWorkflows = AnyWorkflows> {
  /** `POST /runs`. An input the workflow's inputSchema refuses is a `RuntimeClientError` 422 `INVALID_RUN_INPUT` with `issues`. */
  startRun<K extends WorkflowName<W>>(workflow: K, input: RunInputOf<W, K>, options?: StartRunOptions): Promise<StartedRun<K>>;
  /** `GET /runs/:id`. */
  getRun(run: RunId): Promise<RunInfo<W>>;
  /** `GET /runs`: one page of the caller's tenant's runs, newest first (by their last change); `nextCursor` continues it. */
  listRuns(query?: ListRunsQuery<W>): Promise<RunPage<W>>;
  /** Every run `listRuns(query)` pages through, fetching a page (`limit` runs) as the iteration needs it. */
  iterateRuns(query?: Omit<ListRunsQuery<W>, 'cursor'>): AsyncIterableIterator<RunSummary<W>>;
  /** `GET /runs/:id/checkpoints`: one page of the run's checkpoints, newest first; `nextCursor` continues it. */
  listCheckpoints(run: RunId, query?: ListCheckpointsQuery): Promise<CheckpointPage>;
  /** Every checkpoint `listCheckpoints(run, query)` pages through, fetching a page as the iteration needs it. */
  iterateCheckpoints(run: RunId, query?: Omit<ListCheckpointsQuery, 'cursor'>): AsyncIterableIterator<CheckpointInfo>;
  /** `POST /runs/:id/input`: one answer to the question at `nodePath`. */
  answer(run: RunId, nodePath: string, value: unknown, options?: AnswerOptions): Promise<{ accepted: true; runId: string }>;
  /** `POST /runs/:id/resume`: the runId that goes on (a fork's is new). */
  resume(run: RunId, options?: ResumeRunOptions): Promise<{ runId: string }>;
  /** `POST /runs/:id/cancel`. */
  cancel(run: RunId): Promise<{ runId: string; status: CheckpointStatus | 'cancel_requested' }>;
  /**
   * `DELETE /runs/:id`: cancels the run if it is still going, then deletes its checkpoints. A run another process
   * holds and does not stop in time is a `RuntimeClientError` 409 `RUN_LOCKED`: retry later.
   */
  deleteRun(run: RunId): Promise<RunDeletion>;
  /** `GET /workflows`: every workflow with its input, output and answer schemas as JSON Schema. */
  listWorkflows(): Promise<WorkflowDescription[]>;
  /**
   * `GET /runs/:id/events` (NDJSON): the run's events from the first (or after `options.after`), typed by the run's
   * workflow when given a `RunRef` (what `startRun` returns), else by all of them. Ends after the run finishes
   * (see `untilFinished`); a lost stream is reopened after the last event seen.
   */
  events<K extends WorkflowName<W> = WorkflowName<W>>(run: string | RunRef<K>, options?: EventsOptions): AsyncIterableIterator<EventEnvelope<RunInputOf<W, K>, RunOutputOf<W, K>>>;
}

/**
 * A client of a runtime served by `createRuntime`, for browsers and servers alike. Type it by the server's runtime or
 * workflows, `createRuntimeClient<typeof runtime>(…)` or `createRuntimeClient<{ research: typeof research }>(…)`
 * (a type-only import: no server code is bundled), to have run inputs and event data checked by the compiler.
 */
export function createRuntimeClient<T = AnyWorkflows>(options: RuntimeClientOptions): RuntimeClient<WorkflowsOf<T>> {
  const base = options.baseUrl.replace(/\/+$/, '');
  const fetchFn = options.fetch ?? ((input: string, init: RequestInit) => globalThis.fetch(input, init));
  const headersFor = async (extra: Record<string, string>): Promise<Headers> => {
    const given = typeof options.headers === 'function' ? await options.headers() : options.headers;
    const headers = new Headers(given);
    for (const [name, value] of Object.entries(extra)) headers.set(name, value);
    return headers;
  };
  const send = async (method: 'GET' | 'POST' | 'DELETE', path: string, init: { body?: unknown; headers?: Record<string, string>; signal?: AbortSignal } = {}) => {
    const what = `${method} ${path}`;
    // Every POST is JSON, also an empty one: the runtime refuses anything else (415), which keeps out cross-site forms.
    const json: Record<string, string> = method === 'POST' ? { 'content-type': 'application/json' } : {};
    const request: RequestInit = { method, headers: await headersFor({ accept: 'application/json', ...json, ...init.headers }) };
    if (method === 'POST') request.body = JSON.stringify(init.body ?? {});
    if (init.signal) request.signal = init.signal;
    let response: Response;
    try {
      response = await fetchFn(`${base}${path}`, request);
    } catch (error) {
      throw unreachable(what, error);
    }
    if (!response.ok) throw await errorFromResponse(response, what);
    return response;
  };
  const call = async <R>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, headers?: Record<string, string>): Promise<R> =>
    (await (await send(method, path, { body, ...(headers ? { headers } : {}) })).json()) as R;
  const runPath = (run: RunId, suffix = '') => `/runs/${encodeURIComponent(typeof run === 'string' ? run : run.runId)}${suffix}`;
  const listRuns = (query: ListRunsQuery<WorkflowsOf<T>> = {}) => call<RunPage<WorkflowsOf<T>>>('GET', `/runs${searchOf(query)}`);
  const listCheckpoints = (run: RunId, query: ListCheckpointsQuery = {}) => call<CheckpointPage>('GET', runPath(run, `/checkpoints${searchOf(query)}`));

  return {
    async startRun(workflow, input, { runId, metadata } = {}) {
      const started = await call<{ runId: string }>('POST', '/runs', { workflow, input, ...(runId === undefined ? {} : { runId }), ...(metadata === undefined ? {} : { metadata }) });
      return { runId: started.runId, status: 'active', workflow };
    },
    getRun: (run) => call('GET', runPath(run)),
    listRuns,
    iterateRuns: (query = {}) => everyItem((cursor) => listRuns({ ...query, ...cursor }), (page) => page.runs),
    listCheckpoints,
    iterateCheckpoints: (run, query = {}) => everyItem((cursor) => listCheckpoints(run, { ...query, ...cursor }), (page) => page.checkpoints),
    answer(run, nodePath, value, { requestId, idempotencyKey } = {}) {
      const body = { input: { [nodePath]: value }, ...(requestId === undefined ? {} : { requestIds: { [nodePath]: requestId } }) };
      return call('POST', runPath(run, '/input'), body, idempotencyKey === undefined ? undefined : { 'idempotency-key': idempotencyKey });
    },
    resume: (run, body = {}) => call('POST', runPath(run, '/resume'), body),
    cancel: (run) => call('POST', runPath(run, '/cancel')),
    deleteRun: (run) => call('DELETE', runPath(run)),
    listWorkflows: async () => (await call<{ workflows: WorkflowDescription[] }>('GET', '/workflows')).workflows,
    events(run, eventsOptions = {}) {
      const open = (after: number, signal: AbortSignal) =>
        send('GET', runPath(run, `/events?after=${after}`), { headers: { accept: 'application/x-ndjson' }, signal });
      return followEvents(open, eventsOptions) as AsyncGenerator<never>;
    },
  };
}

function searchOf(query: object): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  return params.size > 0 ? `?${params}` : '';
}

/** The items of every page, following `nextCursor` until it is null; a page is fetched only when the iteration reaches it. */
async function* everyItem<P extends { nextCursor: string | null }, I>(page: (cursor: { cursor?: string }) => Promise<P>, items: (page: P) => I[]): AsyncGenerator<I> {
  let cursor: { cursor?: string } = {};
  for (;;) {
    const current = await page(cursor);
    yield* items(current);
    if (current.nextCursor === null) return;
    cursor = { cursor: current.nextCursor };
  }
}
