import { initialSchema } from './0001-initial-schema.js';
import { eventLogAndInbox } from './0002-event-log-and-inbox.js';
import { leanHeaderIndexes } from './0003-lean-header-indexes.js';
import type { Migration } from './migration.js';

export type { Migration } from './migration.js';

/** Every schema step, oldest first. Append only. */
export const migrations: readonly Migration[] = [initialSchema, eventLogAndInbox, leanHeaderIndexes];
