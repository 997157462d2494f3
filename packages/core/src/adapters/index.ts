export { MemoryAdapter, type MemoryAdapterOptions } from './memory-adapter.js';
export { InProcessNotifier } from './in-process-notifier.js';
export {
  DEFAULT_MAX_EVENTS_PER_RUN,
  checkAppendEvents,
  checkChangeMessage,
  checkChannel,
  checkInputKey,
  checkMaxEventsPerRun,
  checkPutInput,
  checkReadEvents,
  checkTakeInputs,
  compareInputs,
  copyChangeMessage,
  newInputRecord,
} from './runtime-records.js';
