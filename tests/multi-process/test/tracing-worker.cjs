// A worker for the tracing test (test/tracing.test.ts), through the BUILT packages, with an OpenTelemetry SDK of
// its own that keeps spans and metrics in memory. Two modes, each in its own process:
//  - `start`: inside an application span (`POST /runs`), runs draft → approve (HumanInput) → publish; the run pauses.
//  - `resume`: inside another application span (`POST /runs/:id/input`), answers and resumes the run; publish
//    fails its first attempt and succeeds on the retry.
// Each reports its result, the spans it ended and the metrics it collected, then exits.
'use strict';

const { context, metrics, trace } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { z } = require('zod');
const { Flow, FunctionNode, HumanInput, Workflow } = require('@savepoint/core');
const { withBackend } = require('./open-backend.cjs');
const { config, emit, runMain } = require('./worker-kit.cjs');

const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(tracerProvider);
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

function workflow(backend) {
  const draft = new FunctionNode({ id: 'draft', run: (topic) => `about ${topic}` });
  const approve = new HumanInput({ id: 'approve', dependsOn: ['draft'], prompt: 'Publish?', schema: z.boolean() });
  const publish = new FunctionNode({
    id: 'publish',
    dependsOn: ['approve'],
    retry: { maxAttempts: 2, initialDelayMs: 1 },
    run: (approved, ctx) => {
      if (ctx.attempt === 1) throw new Error('channel closed');
      return approved ? 'published' : 'dropped';
    },
  });
  return new Workflow({ flow: new Flow({ id: 'traced', nodes: [draft, approve, publish] }), checkpoint: { enabled: true, backend }, telemetry: {} });
}

/** Runs `work` inside an application span, as a traced HTTP handler would, and reports that span's ids. */
function inRequest(name, work) {
  return trace.getTracer('app').startActiveSpan(name, async (span) => {
    try {
      emit({ event: 'request', traceId: span.spanContext().traceId, spanId: span.spanContext().spanId });
      return await work();
    } finally {
      span.end();
    }
  });
}

function plainSpan(span) {
  return {
    name: span.name,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    attributes: span.attributes,
    links: span.links.map((link) => ({ traceId: link.context.traceId, spanId: link.context.spanId, attributes: link.attributes })),
    status: span.status,
    events: span.events.map((event) => ({ name: event.name, attributes: event.attributes })),
  };
}

async function collectMetrics() {
  await reader.forceFlush();
  const points = [];
  for (const resource of metricExporter.getMetrics()) {
    for (const scope of resource.scopeMetrics) {
      for (const metric of scope.metrics) {
        for (const point of metric.dataPoints) {
          const value = typeof point.value === 'number' ? point.value : { count: point.value.count, sum: point.value.sum };
          points.push({ name: metric.descriptor.name, attributes: point.attributes, value });
        }
      }
    }
  }
  return points;
}

runMain(() =>
  withBackend(config, async (backend) => {
    const wf = workflow(backend);
    const result =
      config.mode === 'start'
        ? await inRequest('POST /runs', () => wf.run('otel', { runId: config.runId }))
        : await inRequest('POST /runs/:id/input', () => wf.resume({ runId: config.runId, input: { approve: true } }));
    const head = await wf.getLatestCheckpoint({ runId: config.runId });
    emit({ event: 'result', status: result.status, output: result.output, checkpointId: result.checkpointId, traceContext: head.traceContext });
    emit({ event: 'telemetry', spans: spans.getFinishedSpans().map(plainSpan), metrics: await collectMetrics() });
  }),
);
