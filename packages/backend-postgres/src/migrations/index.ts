import { initialSchema } from './0001-initial-schema.js';
import { eventLogAndInbox } from './0002-event-log-and-inbox.js';
import { commitCheckpointFunction } from './0003-commit-checkpoint-function.js';
import type { Migration } from './migration.js';

export type { Migration } from './migration.js';

/** Every schema step, oldest first. Append only: one file per migration. */
export const migrations: readonly Migration[] = [initialSchema, eventLogAndInbox, commitCheckpointFunction];
