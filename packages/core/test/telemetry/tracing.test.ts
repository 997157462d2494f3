import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { metrics, trace, type Context, type Span, type SpanOptions } from '@opentelemetry/api';
import { z } from 'zod';
import {
  BackendUnavailableError,
  Flow,
  FunctionNode,
  HumanInput,
  MemoryAdapter,
  METRIC_NAMES,
  NodeTimeoutError,
  Workflow,
  silentLogger,
  type HeaderRecord,
  type StorageAdapter,
  type TelemetryOptions,
} from '../../src/index.js';
import { idOf, installSdk, parentOf, traceOf, uninstallSdk, type OtelSdk } from './otel-sdk.js';

let sdk: OtelSdk;
beforeAll(() => {
  sdk = installSdk();
});
afterAll(() => uninstallSdk());
beforeEach(() => sdk.reset());

const tracer = () => trace.getTracer('app');

/** Runs `fn` inside an application span (e.g. an HTTP request) and returns its result and the span. */
async function inSpan<T>(name: string, fn: () => Promise<T>): Promise<{ result: T; span: Span }> {
  return tracer().startActiveSpan(name, async (span) => {
    try {
      return { result: await fn(), span };
    } finally {
      span.end();
    }
  });
}

const ended = () => sdk.spans.getFinishedSpans();
const named = (prefix: string) => ended().filter((span) => span.name.startsWith(prefix));
const one = (name: string) => {
  const found = ended().filter((span) => span.name === name);
  expect(found).toHaveLength(1);
  return found[0]!;
};

function approvalFlow(id: string) {
  const draft = new FunctionNode({ id: 'draft', run: (topic: string) => `about ${topic}` });
  const approve = new HumanInput({ id: 'approve', dependsOn: ['draft'], prompt: 'Publish?', schema: z.boolean() });
  const publish = new FunctionNode({ id: 'publish', dependsOn: ['approve'], run: (ok: boolean) => (ok ? 'published' : 'dropped') });
  return new Flow({ id, nodes: [draft, approve, publish] });
}

function workflowOn(backend: StorageAdapter, flow: Flow, telemetry: TelemetryOptions = {}) {
  return new Workflow({ flow, checkpoint: { enabled: true, backend }, telemetry });
}

async function metricsNow() {
  const collected = await sdk.collect();
  const sum = (name: string, match: Record<string, unknown> = {}) =>
    (collected.get(name) ?? [])
      .filter((point) => Object.entries(match).every(([key, value]) => point.attributes[key] === value))
      .reduce((total, point) => total + (typeof point.value === 'number' ? point.value : point.value.count), 0);
  return { sum };
}

describe('tracing', () => {
  it('traces a run that pauses for a human and its resume as one trace: run, node and commit spans', async () => {
    const backend = new MemoryAdapter();
    const workflow = workflowOn(backend, approvalFlow('approval-trace'));
    const { result: paused, span: request } = await inSpan('POST /runs', () => workflow.run('otel'));
    expect(paused.status).toBe('pending_input');

    const run = one('savepoint.run');
    expect(parentOf(run)).toBe(request.spanContext().spanId);
    expect(traceOf(run)).toBe(request.spanContext().traceId);
    expect(run.attributes).toMatchObject({
      'savepoint.run_id': paused.runId,
      'savepoint.workflow_id': 'approval-trace',
      'savepoint.flow_id': 'approval-trace',
      'savepoint.backend': 'memory',
      'savepoint.resumed': false,
      'savepoint.run.status': 'pending_input',
    });
    const draft = one('savepoint.node draft');
    expect(parentOf(draft)).toBe(idOf(run));
    expect(draft.attributes).toMatchObject({
      'savepoint.run_id': paused.runId,
      'savepoint.node_id': 'draft',
      'savepoint.node_path': 'draft',
      'savepoint.node_type': 'function',
      'savepoint.attempt': 1,
      'savepoint.node.outcome': 'success',
    });
    const asked = one('savepoint.node approve');
    expect(asked.attributes['savepoint.node.outcome']).toBe('pending_input');
    expect(asked.status.code).not.toBe(2);
    const commits = named('savepoint.checkpoint.commit');
    expect(commits.length).toBeGreaterThanOrEqual(2);
    for (const commit of commits) {
      expect(parentOf(commit)).toBe(idOf(run));
      expect(commit.attributes).toMatchObject({ 'savepoint.run_id': paused.runId, 'savepoint.backend': 'memory' });
      expect(commit.attributes['savepoint.bytes_written']).toEqual(expect.any(Number));
    }
    const last = commits.at(-1)!;
    expect(last.attributes['savepoint.checkpoint_id']).toBe(paused.checkpointId);
    expect(commits.map((c) => c.attributes['savepoint.seq'])).toEqual(commits.map((_, i) => i));
    expect(commits[0]!.attributes).toMatchObject({ 'savepoint.node_id': 'draft', 'savepoint.node_ids': ['draft'] });

    // The run stored the caller's context, so a resume anywhere continues the same trace.
    const head = await workflow.getLatestCheckpoint({ runId: paused.runId });
    expect(head!.traceContext).toEqual({ traceparent: `00-${request.spanContext().traceId}-${request.spanContext().spanId}-01` });

    sdk.reset();
    const answered = await inSpan('POST /runs/:id/input', () => workflow.resume({ runId: paused.runId, input: { approve: true } }));
    expect(answered.result.status).toBe('success');
    const resume = one('savepoint.resume');
    expect(traceOf(resume)).toBe(request.spanContext().traceId);
    expect(parentOf(resume)).toBe(request.spanContext().spanId);
    expect(resume.links.map((link) => link.context.spanId)).toEqual([answered.span.spanContext().spanId]);
    expect(resume.links[0]!.attributes).toEqual({ 'savepoint.link': 'caller' });
    expect(resume.attributes).toMatchObject({
      'savepoint.resumed': true,
      'savepoint.resumed_from': paused.checkpointId,
      'savepoint.forked': false,
      'savepoint.run.status': 'success',
    });
    const resumedNode = one('savepoint.node approve');
    expect(parentOf(resumedNode)).toBe(idOf(resume));
    expect(resumedNode.attributes).toMatchObject({ 'savepoint.resumed': true, 'savepoint.node.outcome': 'success' });
    expect(named('savepoint.node draft')).toHaveLength(0);
    // The resume's first commit carries the answered node and what ran after it, not the nodes resumed from.
    expect(named('savepoint.checkpoint.commit')[0]!.attributes['savepoint.node_ids']).not.toContain('draft');
  });

  it('makes the run span the active context of a node, so spans the node starts are its children', async () => {
    let inner: string | undefined;
    const flow = new Flow({
      id: 'active-node',
      nodes: [new FunctionNode({ id: 'call', run: () => tracer().startActiveSpan('llm.request', (span) => ((inner = span.spanContext().spanId), span.end(), 'ok')) })],
    });
    await new Workflow({ flow, telemetry: {} }).run(null);
    expect(parentOf(one('llm.request'))).toBe(idOf(one('savepoint.node call')));
    expect(inner).toBe(idOf(one('llm.request')));
  });

  it('stores the run span itself when no span is active, and a resume becomes its child', async () => {
    const workflow = workflowOn(new MemoryAdapter(), approvalFlow('no-caller'));
    const paused = await workflow.run('x');
    const run = one('savepoint.run');
    expect(parentOf(run)).toBeUndefined();
    const head = await workflow.getLatestCheckpoint({ runId: paused.runId });
    expect(head!.traceContext!.traceparent).toBe(`00-${traceOf(run)}-${idOf(run)}-01`);
    await workflow.resume({ runId: paused.runId, input: { approve: false } });
    const resume = one('savepoint.resume');
    expect(parentOf(resume)).toBe(idOf(run));
    expect(resume.links).toEqual([]);
  });

  it('continues a traceContext passed to run() and keeps it as given', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const workflow = workflowOn(new MemoryAdapter(), approvalFlow('given-trace'));
    const paused = await workflow.run('x', { traceContext: { traceparent, tracestate: 'vendor=1' } });
    const run = one('savepoint.run');
    expect(traceOf(run)).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(parentOf(run)).toBe('b7ad6b7169203331');
    expect((await workflow.getLatestCheckpoint({ runId: paused.runId }))!.traceContext).toEqual({ traceparent, tracestate: 'vendor=1' });
  });

  it('starts a trace of its own when the stored traceparent cannot be continued', async () => {
    const workflow = workflowOn(new MemoryAdapter(), approvalFlow('bad-trace'));
    const paused = await workflow.run('x', { traceContext: { traceparent: 'not-a-traceparent' } });
    expect(parentOf(one('savepoint.run'))).toBeUndefined();
    expect((await workflow.getLatestCheckpoint({ runId: paused.runId }))!.traceContext).toEqual({ traceparent: 'not-a-traceparent' });
  });

  it('marks a fork (time travel) as such and traces it in the origin trace', async () => {
    const workflow = workflowOn(new MemoryAdapter(), approvalFlow('fork-trace'));
    const paused = await workflow.run('x');
    const [first] = (await workflow.listCheckpoints({ runId: paused.runId })).slice(-1);
    const run = one('savepoint.run');
    sdk.reset();
    const forked = await workflow.resume({ checkpointId: first!.id });
    const resume = one('savepoint.resume');
    expect(resume.attributes).toMatchObject({ 'savepoint.run_id': forked.runId, 'savepoint.forked': true, 'savepoint.resumed_from': first!.id });
    expect(traceOf(resume)).toBe(traceOf(run));
  });

  it('records a failing node: exception event and status ERROR on the node and run spans', async () => {
    const flow = new Flow({
      id: 'failing',
      nodes: [new FunctionNode({ id: 'boom', retry: { maxAttempts: 2, initialDelayMs: 1 }, run: () => Promise.reject(new TypeError('bad response')) })],
    });
    const result = await workflowOn(new MemoryAdapter(), flow).run(null);
    expect(result.status).toBe('failure');
    const attempts = named('savepoint.node boom');
    expect(attempts.map((span) => span.attributes['savepoint.attempt'])).toEqual([1, 2]);
    for (const span of attempts) {
      expect(span.status).toEqual({ code: 2, message: 'bad response' });
      expect(span.attributes).toMatchObject({ 'savepoint.node.outcome': 'error', 'error.type': 'TypeError' });
      expect(span.events.map((event) => [event.name, event.attributes?.['exception.message']])).toEqual([['exception', 'bad response']]);
    }
    const run = one('savepoint.run');
    expect(run.status.code).toBe(2);
    expect(run.attributes).toMatchObject({ 'savepoint.run.status': 'failure', 'error.type': 'NODE_FAILED' });
    expect(run.events[0]!.attributes!['exception.message']).toMatch(/Node "boom" failed after 2 attempts: bad response/);
  });

  it('ends the span of an attempt abandoned at its time limit, with the timeout recorded', async () => {
    const flow = new Flow({ id: 'slow', nodes: [new FunctionNode({ id: 'hang', timeoutMs: 20, run: () => new Promise<never>(() => undefined) })] });
    const result = await new Workflow({ flow, telemetry: {} }).run(null);
    expect(result.status).toBe('failure');
    const span = one('savepoint.node hang');
    expect(span.attributes).toMatchObject({ 'savepoint.node.outcome': 'error', 'error.type': NodeTimeoutError.code });
  });

  it('does not count a canceled node as an error', async () => {
    const controller = new AbortController();
    const flow = new Flow({
      id: 'canceled',
      nodes: [
        new FunctionNode({
          id: 'wait',
          run: (_: unknown, ctx) =>
            new Promise((_resolve, reject) => {
              ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
              controller.abort(new Error('user canceled'));
            }),
        }),
      ],
    });
    const result = await new Workflow({ flow, telemetry: {} }).run(null, { signal: controller.signal });
    expect(result.status).toBe('canceled');
    const span = one('savepoint.node wait');
    expect(span.attributes['savepoint.node.outcome']).toBe('aborted');
    expect(span.status.code).not.toBe(2);
    expect(one('savepoint.run').attributes['savepoint.run.status']).toBe('canceled');
  });

  it('uses the tracer and meter it is given instead of the global ones', async () => {
    const names: string[] = [];
    const added: string[] = [];
    const given: TelemetryOptions = {
      tracer: {
        startSpan: (name, options, parent) => {
          names.push(name);
          return tracer().startSpan(name, options as SpanOptions, parent as Context);
        },
      },
      meter: {
        createHistogram: () => ({ record: () => undefined }),
        createCounter: (name) => ({ add: () => void added.push(name) }),
        createUpDownCounter: (name) => ({ add: () => void added.push(name) }),
      },
    };
    const flow = new Flow({ id: 'given', nodes: [new FunctionNode({ id: 'only', run: () => 1 })] });
    await workflowOn(new MemoryAdapter(), flow, given).run(null);
    // The node's completion and the run's end are two commits.
    expect(names).toEqual(['savepoint.run', 'savepoint.node only', 'savepoint.checkpoint.commit', 'savepoint.checkpoint.commit']);
    expect(added).toEqual([METRIC_NAMES.bytesWritten, METRIC_NAMES.bytesWritten, METRIC_NAMES.runs]);
  });
});

it('accepts a Tracer and a Meter of @opentelemetry/api as they are', () => {
  const options: TelemetryOptions = { tracer: trace.getTracer('app'), meter: metrics.getMeter('app') };
  expect(options.tracer).toBeDefined();
});

describe('metrics', () => {
  it('counts commits, bytes, runs by status and the questions waiting', async () => {
    const before = await metricsNow();
    const base = {
      commits: before.sum(METRIC_NAMES.commitDuration, { 'savepoint.workflow_id': 'metered' }),
      bytes: before.sum(METRIC_NAMES.bytesWritten, { 'savepoint.workflow_id': 'metered' }),
    };
    const workflow = workflowOn(new MemoryAdapter(), approvalFlow('metered'));
    const a = await workflow.run('a');
    const b = await workflow.run('b');
    const paused = await metricsNow();
    expect(paused.sum(METRIC_NAMES.pendingInputs, { 'savepoint.workflow_id': 'metered' })).toBe(2);
    expect(paused.sum(METRIC_NAMES.runs, { 'savepoint.workflow_id': 'metered', 'savepoint.run.status': 'pending_input' })).toBe(2);

    await workflow.resume({ runId: a.runId, input: { approve: true } });
    const after = await metricsNow();
    expect(after.sum(METRIC_NAMES.pendingInputs, { 'savepoint.workflow_id': 'metered' })).toBe(1);
    expect(after.sum(METRIC_NAMES.runs, { 'savepoint.workflow_id': 'metered', 'savepoint.run.status': 'success', 'savepoint.resumed': true })).toBe(1);
    const commits = named('savepoint.checkpoint.commit').filter((span) => [a.runId, b.runId].includes(span.attributes['savepoint.run_id'] as string));
    expect(after.sum(METRIC_NAMES.commitDuration, { 'savepoint.workflow_id': 'metered', 'savepoint.backend': 'memory' }) - base.commits).toBe(commits.length);
    const bytes = commits.reduce((total, span) => total + (span.attributes['savepoint.bytes_written'] as number), 0);
    expect(bytes).toBeGreaterThan(0);
    expect(after.sum(METRIC_NAMES.bytesWritten, { 'savepoint.workflow_id': 'metered' }) - base.bytes).toBe(bytes);
    expect(after.sum(METRIC_NAMES.commitFailures, { 'savepoint.workflow_id': 'metered' })).toBe(0);
  });

  it('counts a checkpoint that could not be written, and records it on its commit span', async () => {
    const memory = new MemoryAdapter({ name: 'flaky' });
    let failures = 1;
    const adapter: StorageAdapter = Object.assign(Object.create(memory) as MemoryAdapter, {
      putHeader: (header: HeaderRecord, options?: Parameters<StorageAdapter['putHeader']>[1]) =>
        failures-- > 0 ? Promise.reject(new BackendUnavailableError('connection reset')) : memory.putHeader(header, options),
    });
    const flow = new Flow({ id: 'flaky-writes', nodes: [new FunctionNode({ id: 'one', run: () => 1 })] });
    const workflow = new Workflow({ flow, checkpoint: { enabled: true, backend: adapter, writeRetry: { maxAttempts: 1 }, logger: silentLogger }, telemetry: {} });
    const result = await workflow.run(null);
    expect(result.status).toBe('success');
    const [failed, ...rest] = named('savepoint.checkpoint.commit');
    expect(failed!.status.code).toBe(2);
    expect(failed!.attributes).toMatchObject({ 'error.type': 'BACKEND_UNAVAILABLE', 'savepoint.backend': 'flaky' });
    expect(failed!.attributes['savepoint.bytes_written']).toBeUndefined();
    expect(rest.length).toBeGreaterThan(0);
    const now = await metricsNow();
    expect(now.sum(METRIC_NAMES.commitFailures, { 'savepoint.workflow_id': 'flaky-writes', 'error.type': 'BACKEND_UNAVAILABLE' })).toBe(1);
  });

  it('counts runs without checkpoints but no questions for them (nobody can answer a run that is not stored)', async () => {
    const workflow = new Workflow({ flow: approvalFlow('volatile'), telemetry: {} });
    expect((await workflow.run('x')).status).toBe('pending_input');
    const now = await metricsNow();
    expect(now.sum(METRIC_NAMES.runs, { 'savepoint.workflow_id': 'volatile' })).toBe(1);
    expect(now.sum(METRIC_NAMES.pendingInputs, { 'savepoint.workflow_id': 'volatile' })).toBe(0);
    const run = one('savepoint.run');
    expect(run.attributes['savepoint.backend']).toBeUndefined();
  });
});

