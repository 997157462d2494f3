import { initialSchema } from './0001-initial-schema.js';
import { eventLogAndInbox } from './0002-event-log-and-inbox.js';
import { commitCheckpointFunction } from './0003-commit-checkpoint-function.js';
import { blobCompressionLz4 } from './0004-blob-compression-lz4.js';
import { commitCheckpointLean } from './0005-commit-checkpoint-lean.js';
import { dropStatusIndex } from './0006-drop-status-index.js';
import type { Migration } from './migration.js';

export type { Migration } from './migration.js';

/** Every schema step, oldest first. Append only: one file per migration. */
export const migrations: readonly Migration[] = [
  initialSchema,
  eventLogAndInbox,
  commitCheckpointFunction,
  blobCompressionLz4,
  commitCheckpointLean,
  dropStatusIndex,
];
