import type { Logger } from '../util/logger.js';
import type { RunWarning } from './run-result.js';

/** A run's warnings: kept for its result and reported to the logger as they happen, never only in the result. */
export class RunWarnings {
  readonly items: RunWarning[] = [];

  constructor(
    private readonly runId: string,
    private readonly logger: Logger,
  ) {}

  push(warning: RunWarning): void {
    this.items.push(warning);
    this.logger.warn(warning.message, { runId: this.runId, code: warning.code });
  }
}
