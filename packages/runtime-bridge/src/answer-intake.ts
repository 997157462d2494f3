import {
  CheckpointConflictError,
  InputAlreadyAnsweredError,
  InvalidResumeInputError,
  type HeaderRecord,
  type PendingInputContext,
} from '@savepoint/core';
import { openAnswer, openReceipt, receiptKey, sealAnswer, sealReceipt, answerKey, type Receipt, type StoredAnswer } from './answer-inbox.js';
import type { ChangeFeed } from './change-feed.js';
import type { DeliveryGuard } from './delivery-guard.js';
import type { InboxAdapter } from './inbox-channel.js';
import { FINISHED } from './run-status.js';
import type { CatalogEntry } from './workflow-catalog.js';

/** One answer of a request: the question it answers is named by `requestId`, or is the one pending at `nodePath` now. */
export interface Answer {
  nodePath: string;
  value: unknown;
  requestId?: string | undefined;
}

/** A run as stored (its id in storage, not the client's). */
export interface AnswerTarget {
  runId: string;
  head: HeaderRecord;
  entry: CatalogEntry;
}

export interface AnswerIntakeOptions {
  adapter: InboxAdapter;
  feed: ChangeFeed;
  guard: DeliveryGuard;
}

type Issues = InvalidResumeInputError['issues'];

/** How many of a run's newest checkpoints tell whether a question was asked at a path (and so answered since). */
const HISTORY_LOOKBACK = 50;

/**
 * Takes answers for a run: binds each to one question, refuses an answer to a question that is answered
 * already or no longer pending (409 `INPUT_ALREADY_ANSWERED`, nothing stored), validates the rest against the
 * node's schema, stores them in the inbox and makes sure they reach the run. See answer-inbox.ts for why the
 * first answer wins without any lock.
 */
export class AnswerIntake {
  constructor(private readonly options: AnswerIntakeOptions) {}

  async post(target: AnswerTarget, answers: readonly Answer[], idempotencyKey: string): Promise<void> {
    const { runId, head, entry } = target;
    const { adapter, feed, guard } = this.options;
    // A retry keeps the questions its first attempt was bound to, even once the run asks new ones at those paths.
    const receipt = await this.receipt(target, idempotencyKey);
    const bound = answers.map((answer) => ({ ...answer, requestId: answer.requestId ?? receipt?.[answer.nodePath] }));
    const stored = await Promise.all(bound.map((answer) => (answer.requestId === undefined ? null : this.find(target, answer.requestId))));
    if (stored.every((answer) => answer?.idempotencyKey === idempotencyKey)) return;
    const taken = bound.filter((_, i) => stored[i] && stored[i].idempotencyKey !== idempotencyKey);
    if (taken.length > 0) throw alreadyAnswered(runId, taken.map(({ nodePath }) => ({ nodePath, message: 'this question was answered already' })));
    // A completed run answered all it asked (409 INPUT_ALREADY_ANSWERED below); a failed or canceled one just stopped.
    if (FINISHED.has(head.status) && head.status !== 'completed') throw new CheckpointConflictError(`Run ${runId} is ${head.status}; it takes no more answers.`);

    const pending = await this.pendingByPath(target);
    const unbound: Issues = [];
    const stale: Issues = [];
    const fresh: StoredAnswer[] = [];
    let askedBefore: Promise<ReadonlySet<string>> | undefined;
    for (const [i, answer] of bound.entries()) {
      if (stored[i]) continue;
      const question = pending.get(answer.nodePath);
      if (answer.requestId !== undefined && question?.requestId !== answer.requestId) {
        stale.push({ nodePath: answer.nodePath, message: `question ${answer.requestId} is not pending (answered already, or another question is pending now)` });
      } else if (question !== undefined) {
        fresh.push({ requestId: question.requestId!, nodePath: answer.nodePath, value: answer.value, idempotencyKey });
      } else if ((await (askedBefore ??= this.askedPaths(target))).has(answer.nodePath)) {
        // Sent without a requestId after the question it meant was answered (a race, a second device): the same 409 as with it.
        stale.push({ nodePath: answer.nodePath, message: 'the question asked here was answered already' });
      } else {
        unbound.push({ nodePath: answer.nodePath, message: `no input is pending at "${answer.nodePath}" (pending: ${[...pending.keys()].join(', ') || 'none'})` });
      }
    }
    if (stale.length > 0) throw alreadyAnswered(runId, stale);
    if (head.status === 'completed') throw new CheckpointConflictError(`Run ${runId} is completed; it takes no more answers.`);
    this.validate(runId, entry, fresh, unbound);

    const createdAt = Date.now();
    // Sealing runs the codec: a value it refuses (too deep...) is a 400 before anything is stored.
    const records = fresh.map((answer) => sealAnswer(entry.store, answer, createdAt));
    const requestIds: Receipt = Object.fromEntries(fresh.map((answer) => [answer.nodePath, answer.requestId]));
    await adapter.putInput(runId, sealReceipt(entry.store, idempotencyKey, requestIds, createdAt));
    const results = await Promise.all(records.map((record) => adapter.putInput(runId, record)));
    const lost = fresh.filter((_, i) => {
      const result = results[i]!;
      return !result.created && openAnswer(entry.store, result.record)?.idempotencyKey !== idempotencyKey;
    });
    if (results.some((result) => result.created)) {
      await feed.notify({ runId, kind: 'input' });
      guard.track(runId, entry, fresh.map((answer) => answerKey(answer.requestId)));
    }
    if (lost.length > 0) {
      const accepted = fresh.length - lost.length;
      throw alreadyAnswered(
        runId,
        lost.map(({ nodePath }) => ({ nodePath, message: 'another answer to this question arrived first' })),
        accepted > 0 ? ` The request's other ${accepted} answer(s) were accepted.` : '',
      );
    }
  }

  private async receipt({ runId, entry }: AnswerTarget, idempotencyKey: string): Promise<Receipt | undefined> {
    const record = await this.options.adapter.getInput(runId, receiptKey(idempotencyKey));
    return record === null ? undefined : openReceipt(entry.store, record);
  }

  private async find({ runId, entry }: AnswerTarget, requestId: string): Promise<StoredAnswer | null> {
    const record = await this.options.adapter.getInput(runId, answerKey(requestId));
    return record === null ? null : (openAnswer(entry.store, record) ?? null);
  }

  /** The questions the run's head lists, by nodePath (only those with a requestId can be answered here). */
  private async pendingByPath({ runId, entry }: AnswerTarget): Promise<Map<string, PendingInputContext>> {
    const [latest] = await entry.store.listByRun(runId, { limit: 1 });
    return new Map((latest?.pendingInputs ?? []).filter((p) => p.requestId !== undefined).map((p) => [p.nodePath, p]));
  }

  /** The nodePaths where the run's recent checkpoints listed a question (newest first, a bounded look back). */
  private async askedPaths({ runId, entry }: AnswerTarget): Promise<ReadonlySet<string>> {
    const recent = await entry.store.listByRun(runId, { limit: HISTORY_LOOKBACK });
    return new Set(recent.flatMap((summary) => summary.pendingInputs.map((p) => p.nodePath)));
  }

  /** Each answer must satisfy its node's schema; nothing is stored otherwise (422 with every issue). */
  private validate(runId: string, entry: CatalogEntry, answers: readonly StoredAnswer[], issues: Issues): void {
    for (const { nodePath, value } of answers) {
      const parsed = entry.workflow.flow.inputSchemaFor(nodePath)?.safeParse(value);
      if (parsed && !parsed.success) {
        issues.push({ nodePath, message: parsed.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`).join('; ') });
      }
    }
    if (issues.length === 0) return;
    const error = new InvalidResumeInputError(
      `The answer for run ${runId} was rejected; nothing was changed. ${issues.map((i) => `${i.nodePath}: ${i.message}`).join('; ')}`,
    );
    error.issues = issues;
    throw error;
  }
}

function alreadyAnswered(runId: string, issues: Issues, extra = ''): InputAlreadyAnsweredError {
  const error = new InputAlreadyAnsweredError(
    `Run ${runId}: ${issues.map((i) => `${i.nodePath}: ${i.message}`).join('; ')}. Reload the run's pending inputs and answer the question shown now.${extra}`,
  );
  return Object.assign(error, { issues });
}
