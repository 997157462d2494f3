// OpenTelemetry across processes (issue 12 §2): a run pauses at a HumanInput in one process and is resumed in
// another, each with its own SDK. The resume continues the trace the run stored (W3C traceparent in its checkpoints):
// its span is a child of the span that was active when the run started and links to the request that resumed it.
// Checked per backend: the span tree of both processes (run → node attempts and commits), their attributes, the
// error recorded on a failing node attempt, and the metrics each process reports.
import { join } from 'node:path';
import { afterAll, expect } from '@jest/globals';
import { eachBackend } from './backend-cases.js';
import { killAllWorkers, spawnWorker, type WorkerEvent, type WorkerProcess } from './workers.js';

const WORKER = join(__dirname, 'tracing-worker.cjs');

interface PlainSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
  links: Array<{ traceId: string; spanId: string; attributes: Record<string, unknown> }>;
  status: { code: number; message?: string };
  events: Array<{ name: string; attributes: Record<string, unknown> }>;
}

interface MetricPoint {
  name: string;
  attributes: Record<string, unknown>;
  value: number | { count: number; sum: number };
}

interface Report {
  request: { traceId: string; spanId: string };
  result: WorkerEvent;
  spans: PlainSpan[];
  metrics: MetricPoint[];
}

afterAll(killAllWorkers);

async function runWorker(config: Record<string, unknown>): Promise<Report> {
  const worker: WorkerProcess = spawnWorker(config, WORKER);
  const exit = await worker.exited;
  const find = (name: string) => worker.events.find((event) => event.event === name);
  expect({ exit, crashed: find('crashed') }).toEqual({ exit: { code: 0, signal: null }, crashed: undefined });
  const telemetry = find('telemetry')!;
  return {
    request: find('request') as unknown as Report['request'],
    result: find('result')!,
    spans: telemetry.spans as PlainSpan[],
    metrics: telemetry.metrics as MetricPoint[],
  };
}

const only = (spans: PlainSpan[], name: string) => {
  const found = spans.filter((span) => span.name === name);
  expect(found.map((span) => span.name)).toEqual([name]);
  return found[0]!;
};

const metric = (points: MetricPoint[], name: string, attributes: Record<string, unknown> = {}) =>
  points
    .filter((point) => point.name === name && Object.entries(attributes).every(([key, value]) => point.attributes[key] === value))
    .reduce((total, point) => total + (typeof point.value === 'number' ? point.value : point.value.count), 0);

eachBackend(
  'the tracing test',
  'a run paused for a human and resumed in another process is one trace (%s)',
  async ({ kind, namespace }) => {
    const runId = `traced-${kind}-${process.pid}`;
    const started = await runWorker({ ...namespace.worker, mode: 'start', runId });
    expect(started.result).toMatchObject({ status: 'pending_input' });
    const { request } = started;
    expect(started.result.traceContext).toEqual({ traceparent: `00-${request.traceId}-${request.spanId}-01` });

    const run = only(started.spans, 'savepoint.run');
    expect(run).toMatchObject({ traceId: request.traceId, parentSpanId: request.spanId });
    expect(run.attributes).toMatchObject({
      'savepoint.run_id': runId,
      'savepoint.workflow_id': 'traced',
      'savepoint.backend': kind,
      'savepoint.resumed': false,
      'savepoint.run.status': 'pending_input',
    });
    for (const name of ['savepoint.node draft', 'savepoint.node approve']) expect(only(started.spans, name).parentSpanId).toBe(run.spanId);
    expect(only(started.spans, 'savepoint.node approve').attributes['savepoint.node.outcome']).toBe('pending_input');
    const firstCommits = started.spans.filter((span) => span.name === 'savepoint.checkpoint.commit');
    expect(firstCommits.length).toBeGreaterThanOrEqual(2);
    for (const commit of firstCommits) {
      expect(commit.parentSpanId).toBe(run.spanId);
      expect(commit.attributes).toMatchObject({ 'savepoint.run_id': runId, 'savepoint.backend': kind, 'savepoint.checkpoint_id': expect.any(String) });
      expect(commit.attributes['savepoint.bytes_written']).toBeGreaterThan(0);
    }
    expect(firstCommits.at(-1)!.attributes['savepoint.checkpoint_id']).toBe(started.result.checkpointId);
    expect(metric(started.metrics, 'savepoint.pending_inputs', { 'savepoint.workflow_id': 'traced' })).toBe(1);
    expect(metric(started.metrics, 'savepoint.runs', { 'savepoint.run.status': 'pending_input' })).toBe(1);
    expect(metric(started.metrics, 'savepoint.checkpoint.commit.duration', { 'savepoint.backend': kind })).toBe(firstCommits.length);

    const resumed = await runWorker({ ...namespace.worker, mode: 'resume', runId });
    expect(resumed.result).toMatchObject({ status: 'success', output: 'published' });
    const resume = only(resumed.spans, 'savepoint.resume');
    // Another process, and a request of another trace: the resume joins the run's trace and links to its caller.
    expect(resumed.request.traceId).not.toBe(request.traceId);
    expect(resume).toMatchObject({ traceId: request.traceId, parentSpanId: request.spanId });
    expect(resume.links).toEqual([{ traceId: resumed.request.traceId, spanId: resumed.request.spanId, attributes: { 'savepoint.link': 'caller' } }]);
    expect(resume.attributes).toMatchObject({
      'savepoint.run_id': runId,
      'savepoint.resumed': true,
      'savepoint.resumed_from': started.result.checkpointId,
      'savepoint.run.status': 'success',
    });
    expect(resumed.result.traceContext).toEqual(started.result.traceContext);

    const publish = resumed.spans.filter((span) => span.name === 'savepoint.node publish');
    expect(publish.map((span) => [span.attributes['savepoint.attempt'], span.attributes['savepoint.node.outcome'], span.parentSpanId])).toEqual([
      [1, 'error', resume.spanId],
      [2, 'success', resume.spanId],
    ]);
    expect(publish[0]!.status).toEqual({ code: 2, message: 'channel closed' });
    expect(publish[0]!.events).toEqual([{ name: 'exception', attributes: expect.objectContaining({ 'exception.message': 'channel closed' }) }]);
    expect(publish[1]!.status.code).not.toBe(2);
    expect(resumed.spans.filter((span) => span.name === 'savepoint.node draft')).toEqual([]);
    const commits = resumed.spans.filter((span) => span.name === 'savepoint.checkpoint.commit');
    for (const commit of commits) expect(commit).toMatchObject({ traceId: request.traceId, parentSpanId: resume.spanId });
    const bytes = commits.reduce((total, span) => total + (span.attributes['savepoint.bytes_written'] as number), 0);
    expect(metric(resumed.metrics, 'savepoint.checkpoint.bytes_written', { 'savepoint.backend': kind })).toBe(bytes);
    expect(metric(resumed.metrics, 'savepoint.checkpoint.commit.duration', { 'savepoint.backend': kind })).toBe(commits.length);
    expect(metric(resumed.metrics, 'savepoint.checkpoint.failures')).toBe(0);
    expect(metric(resumed.metrics, 'savepoint.runs', { 'savepoint.run.status': 'success', 'savepoint.resumed': true })).toBe(1);
    // This process saw the question answered: summed with the first process's +1, nothing waits any more.
    expect(metric(resumed.metrics, 'savepoint.pending_inputs', { 'savepoint.workflow_id': 'traced' })).toBe(-1);
  },
  60_000,
);
