import type { FlowCheckpoint, NodeCheckpointState, TraceContext } from '../models/checkpoint.js';
import { LIBRARY_VERSION } from '../engine/version.js';
import { createInstruments, type Instruments } from './instruments.js';
import { loadOtelApi, type OtelApi, type OtelContext, type OtelImport } from './otel-api.js';
import { attemptOutcome, errorType, KIND_INTERNAL, recordError } from './span-outcome.js';
import { fromTraceContext, toTraceContext } from './traceparent.js';
import type { TelemetryLink, TelemetryOptions, TelemetrySpan, TelemetryTracer } from './telemetry-types.js';

const SCOPE = '@savepoint/core';

/** The node attempt a span stands for (FlowRun's side of the hook). */
export interface NodeAttempt {
  nodeId: string;
  nodePath: string;
  nodeType: string;
  attempt: number;
  isResumed: boolean;
}

/** Wraps each node attempt of a run in a span that is the active context while the node runs. */
export interface NodeTracing {
  attempt<T>(node: NodeAttempt, signal: AbortSignal, run: () => T | Promise<T>): Promise<T>;
}

/** One checkpoint commit (retries included), as the writer reports it. */
export interface CommitTrace {
  committed(bytesWritten: number): void;
  failed(error: unknown): void;
}

export interface CommitTracing {
  /** `nodeStates`: the run's node states the checkpoint was taken from, to name the nodes whose change it commits. */
  start(checkpoint: FlowCheckpoint, nodeStates: Readonly<Record<string, NodeCheckpointState>>): CommitTrace;
}

/** What a run attempt starts from (the workflow's plan). */
export interface RunStart {
  runId: string;
  traceContext?: TraceContext;
  /** The checkpoint resumed (or forked) from; null for a new run. */
  resumedFrom: string | null;
  forked: boolean;
  /** Questions the resumed checkpoint lists (0 for a new run or a fork, whose origin keeps its own). */
  pendingAtStart: number;
  /** The node states resumed from: a commit names only the nodes that changed since. */
  nodeStates: Readonly<Record<string, NodeCheckpointState>>;
}

export interface RunEnd {
  status: string;
  error?: Error;
  /** Questions the run's last checkpoint lists. */
  pendingAtEnd: number;
}

interface Loaded {
  api: OtelApi;
  tracer: TelemetryTracer;
  instruments: Instruments;
}

/** A workflow's telemetry: loads `@opentelemetry/api` once, then makes one `RunTrace` per run attempt. */
export class WorkflowTelemetry {
  private loading: Promise<Loaded> | undefined;
  private loaded: Loaded | undefined;

  constructor(
    private readonly options: TelemetryOptions,
    private readonly identity: { workflowId: string; flowId: string; backend?: string },
    private readonly load?: OtelImport,
  ) {}

  /** Rejects with `InvalidArgumentError` when the api is not installed: call before anything of the run starts. */
  async ready(): Promise<void> {
    this.loading ??= loadOtelApi(this.load).then((api) => {
      const tracer = this.options.tracer ?? api.trace.getTracer(SCOPE, LIBRARY_VERSION);
      const meter = this.options.meter ?? api.metrics.getMeter(SCOPE, LIBRARY_VERSION);
      return (this.loaded = { api, tracer, instruments: createInstruments(meter) });
    });
    // A failed load is tried again by the next run (the package may have been installed since).
    await this.loading.catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
  }

  /** After `ready()`. */
  startRun(start: RunStart, durable: boolean): RunTrace {
    return new RunTrace(this.loaded!, this.identity, start, durable);
  }
}

/**
 * The span of one run attempt (`savepoint.run`, or `savepoint.resume` for a resume or fork) and its children: one
 * span per node attempt and per checkpoint commit. A resume is a child of the trace the run stored, so every
 * attempt of a run, in any process and however long a human took to answer, is one trace; a span active in the
 * caller (e.g. the request that delivered the answer) is linked.
 */
export class RunTrace implements NodeTracing, CommitTracing {
  /** What the run stores: the given or stored one, else the caller's active span, else this run span. */
  readonly traceContext: TraceContext;
  private readonly span: TelemetrySpan;
  private readonly context: OtelContext;
  private readonly common: Record<string, string>;
  /** Node states as of the last commit started, to name the nodes each commit carries. */
  private lastCommitted: Readonly<Record<string, NodeCheckpointState>>;

  constructor(
    private readonly loaded: Loaded,
    identity: { workflowId: string; flowId: string; backend?: string },
    private readonly run: RunStart,
    private readonly durable: boolean,
  ) {
    const { api, tracer } = loaded;
    const start = run;
    this.lastCommitted = run.nodeStates;
    const active = api.context.active();
    const caller = api.trace.getSpan(active)?.spanContext();
    const callerContext = caller && api.trace.isSpanContextValid(caller) ? caller : undefined;
    const origin = start.traceContext && fromTraceContext(start.traceContext);
    const links: TelemetryLink[] = [];
    if (origin && callerContext && callerContext.spanId !== origin.spanId) links.push({ context: callerContext, attributes: { 'savepoint.link': 'caller' } });
    this.common = {
      'savepoint.run_id': start.runId,
      'savepoint.workflow_id': identity.workflowId,
      ...(identity.backend === undefined ? {} : { 'savepoint.backend': identity.backend }),
    };
    this.span = tracer.startSpan(
      start.resumedFrom === null ? 'savepoint.run' : 'savepoint.resume',
      {
        kind: KIND_INTERNAL,
        attributes: {
          ...this.common,
          'savepoint.flow_id': identity.flowId,
          'savepoint.resumed': start.resumedFrom !== null,
          ...(start.resumedFrom === null ? {} : { 'savepoint.resumed_from': start.resumedFrom, 'savepoint.forked': start.forked }),
        },
        links,
      },
      origin ? api.trace.setSpanContext(active, origin) : active,
    );
    this.context = api.trace.setSpan(active, this.span);
    this.traceContext = start.traceContext ?? toTraceContext(callerContext ?? this.span.spanContext());
  }

  /** Runs `fn` with the run span active, so spans the application starts meanwhile are its children. */
  within<T>(fn: () => Promise<T>): Promise<T> {
    return this.loaded.api.context.with(this.context, fn);
  }

  end(end: RunEnd): void {
    const { instruments } = this.loaded;
    this.span.setAttribute('savepoint.run.status', end.status);
    if (end.status === 'failure' && end.error) recordError(this.span, end.error);
    this.span.end();
    const workflow = { 'savepoint.workflow_id': this.common['savepoint.workflow_id'] };
    instruments.runs.add(1, { ...workflow, 'savepoint.run.status': end.status, 'savepoint.resumed': this.run.resumedFrom !== null });
    // A run without checkpoints cannot be answered later: its questions are not waiting for anyone.
    const waiting = this.durable ? end.pendingAtEnd - this.run.pendingAtStart : 0;
    if (waiting !== 0) instruments.pendingInputs.add(waiting, workflow);
  }

  /** A run attempt that threw instead of resolving a result. */
  fail(error: unknown): void {
    recordError(this.span, error);
    this.span.end();
  }

  attempt<T>(node: NodeAttempt, signal: AbortSignal, run: () => T | Promise<T>): Promise<T> {
    const { api, tracer } = this.loaded;
    const span = tracer.startSpan(
      `savepoint.node ${node.nodeId}`,
      {
        kind: KIND_INTERNAL,
        attributes: {
          ...this.common,
          'savepoint.node_id': node.nodeId,
          'savepoint.node_path': node.nodePath,
          'savepoint.node_type': node.nodeType,
          'savepoint.attempt': node.attempt,
          'savepoint.resumed': node.isResumed,
        },
      },
      this.context,
    );
    let ended = false;
    const end = (error?: unknown, aborted = false): void => {
      if (ended) return;
      ended = true;
      signal.removeEventListener('abort', onAbort);
      if (aborted || error !== undefined) {
        const outcome = attemptOutcome(aborted ? signal.reason : error, signal);
        span.setAttribute('savepoint.node.outcome', outcome);
        if (outcome === 'error') recordError(span, aborted ? signal.reason : error);
      } else span.setAttribute('savepoint.node.outcome', 'success');
      span.end();
    };
    // An attempt abandoned at its time limit may never settle: its span ends when its signal aborts.
    const onAbort = (): void => end(undefined, true);
    signal.addEventListener('abort', onAbort, { once: true });
    let running: Promise<T>;
    try {
      running = Promise.resolve(api.context.with(api.trace.setSpan(this.context, span), run));
    } catch (error) {
      running = Promise.reject(error);
    }
    return running.then(
      (value) => (end(), value),
      (error: unknown) => {
        end(error);
        throw error;
      },
    );
  }

  start(checkpoint: FlowCheckpoint, nodeStates: Readonly<Record<string, NodeCheckpointState>>): CommitTrace {
    const { tracer, instruments } = this.loaded;
    const changed = Object.keys(nodeStates).filter((id) => nodeStates[id] !== this.lastCommitted[id]);
    const span = tracer.startSpan(
      'savepoint.checkpoint.commit',
      {
        kind: KIND_INTERNAL,
        attributes: {
          ...this.common,
          'savepoint.checkpoint_id': checkpoint.id,
          'savepoint.seq': checkpoint.seq,
          'savepoint.checkpoint.status': checkpoint.status,
          'savepoint.node_ids': changed,
          ...(changed.length === 1 ? { 'savepoint.node_id': changed[0] } : {}),
        },
      },
      this.context,
    );
    const startedAt = performance.now();
    const backend = this.common['savepoint.backend'] === undefined ? {} : { 'savepoint.backend': this.common['savepoint.backend'] };
    const workflow = { 'savepoint.workflow_id': this.common['savepoint.workflow_id'], ...backend };
    return {
      committed: (bytesWritten) => {
        this.lastCommitted = { ...nodeStates };
        span.setAttribute('savepoint.bytes_written', bytesWritten);
        span.end();
        instruments.commitDuration.record(performance.now() - startedAt, workflow);
        instruments.bytesWritten.add(bytesWritten, workflow);
      },
      failed: (error) => {
        recordError(span, error);
        span.end();
        instruments.commitDuration.record(performance.now() - startedAt, { ...workflow, 'error.type': errorType(error) });
        instruments.commitFailures.add(1, { ...workflow, 'error.type': errorType(error) });
      },
    };
  }
}
