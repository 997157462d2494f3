export {
  CheckpointStore,
  type CheckpointPatch,
  type CheckpointStoreOptions,
  type CorruptOption,
  type CheckpointSummary,
  type CleanupOptions,
  type CleanupResult,
  type RetentionTombstone,
  type SaveOptions,
  type SaveResult,
  type TenantOption,
} from './checkpoint-store.js';
export { removedRunMessage } from './retention-tombstone.js';
export { BlobCipher } from './encryption.js';
export { DEFAULT_TUNING, hashOf, segmentSizes, type TreeTuning } from './blob-tree.js';
export { matchesHeaderQuery } from './header-query.js';
