import { NodeTimeoutError, SavepointError } from '../errors.js';
import { PendingInputSignal } from '../engine/pending-input-signal.js';
import type { TelemetrySpan } from './telemetry-types.js';

/** OpenTelemetry's `SpanStatusCode.ERROR` and `SpanKind.INTERNAL` (constants of the api, copied to need no import). */
export const STATUS_ERROR = 2;
export const KIND_INTERNAL = 0;

/** Records `error` on `span` as the OpenTelemetry conventions ask: an exception event and status ERROR. */
export function recordError(span: TelemetrySpan, error: unknown): void {
  const exception = error instanceof Error ? error : String(error);
  span.recordException(exception);
  span.setAttribute('error.type', errorType(error));
  span.setStatus({ code: STATUS_ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** A low-cardinality name for an error: its Savepoint code, else its class name. */
export function errorType(error: unknown): string {
  if (SavepointError.isInstance(error)) return error.code;
  return error instanceof Error ? error.name : typeof error;
}

/**
 * How a node attempt ended that did not return: waiting for a human and being stopped from outside (a cancel, a
 * shutdown) are not errors of the node; a time-out and anything thrown are.
 */
export function attemptOutcome(error: unknown, signal: AbortSignal): 'pending_input' | 'aborted' | 'error' {
  if (PendingInputSignal.isInstance(error)) return 'pending_input';
  if (signal.aborted && !NodeTimeoutError.isInstance(signal.reason)) return 'aborted';
  return 'error';
}
