import { z } from 'zod';
import type { StorageAdapter } from '../store/storage-adapter.js';
import type { Logger } from '../util/logger.js';

export const EncryptionKey = z.object({
  /** Stored with every encrypted blob, so older keys keep decrypting after a rotation. */
  id: z.string().min(1).max(64),
  /** 32 bytes (AES-256). */
  key: z.instanceof(Uint8Array).refine((k) => k.length === 32, 'an AES-256 key is 32 bytes'),
});
export type EncryptionKey = z.infer<typeof EncryptionKey>;

export const EncryptionConfig = z.object({
  /** The first key encrypts; every key listed can decrypt. */
  keys: z.array(EncryptionKey).min(1),
});
export type EncryptionConfig = z.infer<typeof EncryptionConfig>;

export const RedactConfig = z.object({
  /** Object keys whose values are replaced by `[REDACTED]` before anything is persisted (case-insensitive). */
  keys: z.array(z.string()).default([]),
  /** String values matching any pattern are replaced the same way. */
  patterns: z.array(z.instanceof(RegExp)).default([]),
});
export type RedactConfig = z.input<typeof RedactConfig>;

export const WriteRetryConfig = z.object({
  /** Attempts per checkpoint write, the first included (1 = no retry). */
  maxAttempts: z.number().int().min(1).max(20).default(3),
  /** Delay before the first retry, doubled (with jitter) before each next one. */
  initialDelayMs: z.number().int().nonnegative().default(50),
  /** Cap of any one delay: a run never stalls long on a backend that is down. */
  maxDelayMs: z.number().int().nonnegative().default(1_000),
});
export type WriteRetryConfig = z.output<typeof WriteRetryConfig>;

const isLogger = (value: unknown): value is Logger =>
  typeof value === 'object' &&
  value !== null &&
  (['debug', 'info', 'warn', 'error'] as const).every((level) => typeof (value as Logger)[level] === 'function');

/** How long a finished run is kept by default (see `CheckpointConfig.retentionDays`). */
export const DEFAULT_RETENTION_DAYS = 30;

const isAdapter = (value: unknown): value is StorageAdapter =>
  typeof value === 'object' && value !== null && typeof (value as StorageAdapter).putHeader === 'function';

export const CheckpointConfig = z.object({
  /** Off by default: without it nothing is stored and behaviour is a plain run. */
  enabled: z.boolean().default(false),
  backend: z.custom<StorageAdapter>(isAdapter, 'backend must implement the StorageAdapter contract').optional(),
  checkpointAfterNode: z.boolean().default(true),
  checkpointOnFailure: z.boolean().default(true),
  midNodeCheckpoints: z.boolean().default(true),
  /**
   * Checkpoints kept per run, newest first by seq; the run's head is always kept and other runs never count.
   * Default: no limit, since a checkpoint shares its state with its parent and costs little more than its header.
   */
  maxCheckpointsPerRun: z.number().int().positive().optional(),
  /**
   * @deprecated Counted per flow before 0.2, deleting whole runs' histories once other runs happened. Now read
   * as `maxCheckpointsPerRun` (which wins when both are set).
   */
  maxCheckpoints: z.number().int().positive().optional(),
  /**
   * Finished runs (completed, failed or canceled) last updated longer ago are removed entirely; unfinished runs
   * and runs waiting for input never are. Default 30 days (a closed Temporal workflow is kept for its
   * namespace's retention period, 30 days by default on Temporal Cloud); `null` keeps finished runs forever.
   */
  retentionDays: z.number().positive().nullable().default(DEFAULT_RETENTION_DAYS),
  excludeNodes: z.array(z.string()).default([]),
  durability: z.enum(['sync', 'async']).default('sync'),
  /**
   * What happens when a checkpoint cannot be written after `writeRetry`: `continue` (with a warning) or `fail`.
   * State that can never be stored (unserializable, invalid) fails the run whatever this says.
   */
  onCheckpointError: z.enum(['continue', 'fail']).default('continue'),
  /** Bounded retries of a checkpoint write that failed transiently (backend unreachable, connection reset, timeout). */
  writeRetry: WriteRetryConfig.prefault({}),
  /** Where warnings, durability failures (and, at debug, commits and retries) are reported. Default: `consoleLogger`. */
  logger: z.custom<Logger>(isLogger, 'logger must have debug, info, warn and error methods').optional(),
  redact: RedactConfig.optional(),
  encryption: EncryptionConfig.optional(),
  /** How long a worker's lease on a run lasts before another worker may take it over. */
  leaseTtlMs: z.number().int().positive().default(30_000),
});
export type CheckpointConfig = z.output<typeof CheckpointConfig>;
export type CheckpointConfigInput = z.input<typeof CheckpointConfig>;
