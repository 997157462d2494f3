export type {
  TelemetryOptions,
  TelemetryTracer,
  TelemetryMeter,
  TelemetrySpan,
  TelemetrySpanContext,
  TelemetryTraceState,
  TelemetrySpanOptions,
  TelemetryLink,
  TelemetryAttributes,
  TelemetryAttributeValue,
  TelemetryInstrumentOptions,
  TelemetryRecorder,
  TelemetryAdder,
} from './telemetry-types.js';
export { METRIC_NAMES } from './instruments.js';
