/**
 * The parts of OpenTelemetry's `Tracer` and `Meter` that Savepoint calls, declared here so that core's
 * declarations never name `@opentelemetry/api` (an optional peer dependency): a real `Tracer` or `Meter` from
 * any `@opentelemetry/api` 1.x fits these shapes.
 */
export type TelemetryAttributeValue =
  | string
  | number
  | boolean
  | Array<null | undefined | string>
  | Array<null | undefined | number>
  | Array<null | undefined | boolean>;
export type TelemetryAttributes = Record<string, TelemetryAttributeValue | undefined>;

export interface TelemetrySpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
  traceState?: TelemetryTraceState;
}

export interface TelemetryTraceState {
  set(key: string, value: string): TelemetryTraceState;
  unset(key: string): TelemetryTraceState;
  get(key: string): string | undefined;
  serialize(): string;
}

export interface TelemetryLink {
  context: TelemetrySpanContext;
  attributes?: TelemetryAttributes;
}

export interface TelemetrySpanOptions {
  kind?: number;
  attributes?: TelemetryAttributes;
  links?: TelemetryLink[];
}

export interface TelemetrySpan {
  spanContext(): TelemetrySpanContext;
  setAttribute(key: string, value: TelemetryAttributeValue): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: Error | string): void;
  end(): void;
}

export interface TelemetryTracer {
  /** `context` is an OpenTelemetry `Context`: Savepoint passes the run's, so node and commit spans are its children. */
  startSpan(name: string, options?: TelemetrySpanOptions, context?: any): TelemetrySpan;
}

export interface TelemetryInstrumentOptions {
  description?: string;
  unit?: string;
}

export interface TelemetryRecorder {
  record(value: number, attributes?: TelemetryAttributes): void;
}

export interface TelemetryAdder {
  add(value: number, attributes?: TelemetryAttributes): void;
}

export interface TelemetryMeter {
  createHistogram(name: string, options?: TelemetryInstrumentOptions): TelemetryRecorder;
  createCounter(name: string, options?: TelemetryInstrumentOptions): TelemetryAdder;
  createUpDownCounter(name: string, options?: TelemetryInstrumentOptions): TelemetryAdder;
}

/**
 * `new Workflow({ telemetry })`: traces and metrics through OpenTelemetry. Needs `@opentelemetry/api` installed
 * (it is loaded on the first run, never at import). A missing `tracer` or `meter` is taken from the global
 * providers (`trace.getTracer('@savepoint/core')`, `metrics.getMeter('@savepoint/core')`), so `telemetry: {}`
 * follows whatever SDK the application registered.
 */
export interface TelemetryOptions {
  tracer?: TelemetryTracer;
  meter?: TelemetryMeter;
}
