import { InvalidResumeInputError } from '../errors.js';
import type { HumanAnswer } from './node-types.js';

/** The answers of a resume in one form: `answers: [approve.answer(v)]` merged into `input` and `requestIds`. */
export interface MergedAnswers {
  input: Record<string, unknown>;
  requestIds: Record<string, string>;
}

/**
 * Merges the typed `answers` list into the `input` / `requestIds` records. A path answered twice (in both, or twice in
 * the list) is refused before anything changes: which answer was meant cannot be told.
 */
export function mergeAnswers(
  runLabel: string,
  input: Readonly<Record<string, unknown>> | undefined,
  requestIds: Readonly<Record<string, string>> | undefined,
  answers: ReadonlyArray<HumanAnswer> | undefined,
): MergedAnswers {
  const merged: MergedAnswers = { input: { ...input }, requestIds: { ...requestIds } };
  const twice: string[] = [];
  for (const answer of answers ?? []) {
    if (typeof answer?.nodePath !== 'string') {
      throw invalidResumeInput(runLabel, [{ nodePath: String(answer?.nodePath), message: 'an answer needs a nodePath: make it with humanInput.answer(value)' }]);
    }
    if (Object.hasOwn(merged.input, answer.nodePath)) twice.push(answer.nodePath);
    merged.input[answer.nodePath] = answer.value;
    if (answer.requestId !== undefined) {
      if (merged.requestIds[answer.nodePath] !== undefined && merged.requestIds[answer.nodePath] !== answer.requestId) twice.push(answer.nodePath);
      merged.requestIds[answer.nodePath] = answer.requestId;
    }
  }
  if (twice.length > 0) {
    throw invalidResumeInput(runLabel, [...new Set(twice)].map((nodePath) => ({ nodePath, message: 'answered twice (in input and answers, or twice in answers); give one answer' })));
  }
  return merged;
}

/** Refuses a resume's answers as a whole, listing every problem by path. */
export function invalidResumeInput(runLabel: string, issues: InvalidResumeInputError['issues']): InvalidResumeInputError {
  const error = new InvalidResumeInputError(
    `Resume input for ${runLabel} was rejected; nothing was changed. Fix: ${issues.map((i) => `${i.nodePath}: ${i.message}`).join('; ')}`,
  );
  error.issues = issues;
  return error;
}
