import { NotFoundError } from '@savepoint/core';
import { HttpError } from './http-error.js';
import type { Principal } from './principal.js';

/**
 * What a principal does to a run: `read` (view, list, stream, subscribe), `answer` (post input), `cancel`, `resume` (also
 * time travel), `start`, `delete` (cancel if still going, then remove its checkpoints).
 */
export type RunAction = 'read' | 'answer' | 'cancel' | 'resume' | 'start' | 'delete';

/** The run an `authorize` hook decides about. */
export interface RunAccess {
  /** The id the caller knows the run by. */
  runId: string;
  /** The workflow's name in `createRuntime({ workflows })`. */
  workflow: string;
  tenantId: string;
  /** `userId` of the principal that started the run (a fork keeps its origin's); undefined for runs started before it was recorded. */
  startedBy: string | undefined;
}

/**
 * Narrows a tenant's runs per user and action; resolves true to allow. A run the principal may not `read` is a
 * 404, exactly like another tenant's or a missing one (so it cannot be probed); any other action refused on a run
 * it may read is a 403 `FORBIDDEN`. Listings only show runs it may read. A throw is a server error (500).
 */
export type AuthorizeHook = (principal: Principal, run: RunAccess, action: RunAction) => boolean | Promise<boolean>;

/** Key of the run's checkpoint metadata holding the starting principal's `userId` (sealed like all metadata). */
export const STARTED_BY = 'startedBy';

export function startedByOf(metadata: Record<string, unknown>): string | undefined {
  const value = metadata[STARTED_BY];
  return typeof value === 'string' ? value : undefined;
}

/** Applies the `authorize` hook (everything is allowed without one). */
export class RunAccessPolicy {
  constructor(private readonly hook: AuthorizeHook | undefined) {}

  /** Whether `check` needs the run described (reading its metadata costs a storage read). */
  get restricts(): boolean {
    return this.hook !== undefined;
  }

  async mayRead(principal: Principal, run: RunAccess): Promise<boolean> {
    return this.hook === undefined || (await this.hook(principal, run, 'read'));
  }

  /** Throws NotFound when the run may not be read, 403 when it may be read but not acted on as asked. */
  async check(principal: Principal, run: RunAccess, action: RunAction): Promise<void> {
    if (this.hook === undefined) return;
    if (action !== 'start' && !(await this.hook(principal, run, 'read'))) throw new NotFoundError(`Run ${run.runId} was not found.`);
    if (action !== 'read' && !(await this.hook(principal, run, action))) {
      throw new HttpError(403, 'FORBIDDEN', `You may not ${action} run ${run.runId}; ask its owner or an administrator.`);
    }
  }
}
