import type { TelemetryAdder, TelemetryMeter, TelemetryRecorder } from './telemetry-types.js';

/** Savepoint's metrics, created once per workflow on its meter. */
export interface Instruments {
  commitDuration: TelemetryRecorder;
  bytesWritten: TelemetryAdder;
  commitFailures: TelemetryAdder;
  runs: TelemetryAdder;
  pendingInputs: TelemetryAdder;
}

export const METRIC_NAMES = {
  commitDuration: 'savepoint.checkpoint.commit.duration',
  bytesWritten: 'savepoint.checkpoint.bytes_written',
  commitFailures: 'savepoint.checkpoint.failures',
  runs: 'savepoint.runs',
  pendingInputs: 'savepoint.pending_inputs',
} as const;

export function createInstruments(meter: TelemetryMeter): Instruments {
  return {
    commitDuration: meter.createHistogram(METRIC_NAMES.commitDuration, {
      description: 'Time to commit one checkpoint (blobs and header, retries included).',
      unit: 'ms',
    }),
    bytesWritten: meter.createCounter(METRIC_NAMES.bytesWritten, {
      description: 'Bytes handed to the storage backend by checkpoint commits (new blobs and headers).',
      unit: 'By',
    }),
    commitFailures: meter.createCounter(METRIC_NAMES.commitFailures, {
      description: 'Checkpoint commits that failed after their retries.',
    }),
    runs: meter.createCounter(METRIC_NAMES.runs, {
      description: 'Run attempts (run or resume) that ended, by savepoint.run.status.',
    }),
    pendingInputs: meter.createUpDownCounter(METRIC_NAMES.pendingInputs, {
      description: 'Questions waiting for a human answer (summed over every process that runs the workflow).',
    }),
  };
}
