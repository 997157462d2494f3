import { InvalidArgumentError } from '../errors.js';
import type { TelemetryMeter, TelemetrySpan, TelemetrySpanContext, TelemetryTracer } from './telemetry-types.js';

/** An OpenTelemetry `Context`: only the api module reads or makes one. */
export type OtelContext = object;

/** What Savepoint uses of `@opentelemetry/api` (its own shapes, so no declaration names the package). */
export interface OtelApi {
  context: {
    active(): OtelContext;
    with<T>(context: OtelContext, fn: () => T): T;
  };
  trace: {
    getTracer(name: string, version?: string): TelemetryTracer;
    getSpan(context: OtelContext): TelemetrySpan | undefined;
    setSpan(context: OtelContext, span: TelemetrySpan): OtelContext;
    setSpanContext(context: OtelContext, spanContext: TelemetrySpanContext): OtelContext;
    isSpanContextValid(spanContext: TelemetrySpanContext): boolean;
  };
  metrics: {
    getMeter(name: string, version?: string): TelemetryMeter;
  };
}

export type OtelImport = () => Promise<unknown>;

/**
 * A dynamic import works from both builds (tsc turns it into a `require` in the CommonJS one) and only runs
 * when a workflow has `telemetry`, so core imports fine without the optional peer dependency.
 */
const importApi: OtelImport = () => import('@opentelemetry/api');

export async function loadOtelApi(load: OtelImport = importApi): Promise<OtelApi> {
  let loaded: unknown;
  try {
    loaded = await load();
  } catch (cause) {
    throw new InvalidArgumentError(
      "Workflow option `telemetry` needs the package @opentelemetry/api: install it (npm install @opentelemetry/api) or remove the option.",
      { cause },
    );
  }
  // An ES module import of the CommonJS build may put the api under `default`.
  const api = (loaded as { trace?: unknown; default?: unknown }).trace ? loaded : (loaded as { default: unknown }).default;
  return api as OtelApi;
}
