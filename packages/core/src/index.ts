export * from './errors.js';
export * from './models/checkpoint.js';
export * from './models/checkpoint-config.js';
export * from './store/storage-adapter.js';
export { assertSafeId, isSafeId } from './store/safe-id.js';
export { uuidv7 } from './util/uuidv7.js';
