// An OpenTelemetry SDK that keeps everything in memory: the spans ended and the metrics collected on demand.
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
} from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

export interface OtelSdk {
  spans: InMemorySpanExporter;
  tracerProvider: BasicTracerProvider;
  meterProvider: MeterProvider;
  /** Collects the metrics now: name → its data points (cumulative). */
  collect(): Promise<Map<string, Array<DataPoint<number | Histogram>>>>;
  reset(): void;
}

/** Registers the SDK globally (context manager, tracer and meter providers), as an application does. */
export function installSdk(): OtelSdk {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  return {
    spans,
    tracerProvider,
    meterProvider,
    async collect() {
      exporter.reset();
      await reader.forceFlush();
      const out = new Map<string, Array<DataPoint<number | Histogram>>>();
      for (const resource of exporter.getMetrics()) {
        for (const scope of resource.scopeMetrics) {
          for (const metric of scope.metrics) out.set(metric.descriptor.name, [...(out.get(metric.descriptor.name) ?? []), ...(metric.dataPoints as Array<DataPoint<number | Histogram>>)]);
        }
      }
      return out;
    },
    reset: () => spans.reset(),
  };
}

export function uninstallSdk(): void {
  trace.disable();
  metrics.disable();
  context.disable();
}

export const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
export const idOf = (span: ReadableSpan): string => span.spanContext().spanId;
export const traceOf = (span: ReadableSpan): string => span.spanContext().traceId;
