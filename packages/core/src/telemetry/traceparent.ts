import type { TraceContext } from '../models/checkpoint.js';
import type { TelemetrySpanContext } from './telemetry-types.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** W3C Trace Context (version 00) of a span, as a run stores it. */
export function toTraceContext(spanContext: TelemetrySpanContext): TraceContext {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  const tracestate = spanContext.traceState?.serialize();
  return { traceparent: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`, ...(tracestate ? { tracestate } : {}) };
}

/**
 * The remote span a stored `traceparent` names, or undefined when it is not one Savepoint can continue (an
 * unknown version or a malformed value: the run then starts a trace of its own rather than failing).
 */
export function fromTraceContext(traceContext: TraceContext): TelemetrySpanContext | undefined {
  const match = TRACEPARENT.exec(traceContext.traceparent.trim().toLowerCase());
  if (!match) return undefined;
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string];
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true };
}
