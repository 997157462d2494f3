import type { CheckpointStatus } from '@savepoint/core';
import type { Connection } from '../connect.js';
import { usageError } from '../errors.js';
import type { CliIo, Output } from '../output.js';

/** What every command gets: where to write, and the backend (connected on first use, closed by the CLI). */
export interface CommandContext {
  io: CliIo;
  output: Output;
  connection(): Promise<Connection>;
}

export const STATUSES: readonly CheckpointStatus[] = ['active', 'paused', 'completed', 'failed', 'canceled', 'pending_input'];

export function parseStatus(value: string): CheckpointStatus {
  if (!(STATUSES as readonly string[]).includes(value)) throw usageError(`Unknown status "${value}": use one of ${STATUSES.join(', ')}.`);
  return value as CheckpointStatus;
}

export function parsePositiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw usageError(`${flag} must be a positive integer, got "${value}".`);
  return n;
}
