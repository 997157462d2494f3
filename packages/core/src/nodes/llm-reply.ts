import { LLMRequestError } from '../errors.js';

/** An error for a model reply that cannot be used (a plan that does not parse, a state that is not allowed). */
export function unusableReply(message: string): InstanceType<typeof LLMRequestError> {
  return new LLMRequestError(`${message} Resume the run to ask the model again.`);
}

/** Parses the JSON object in a model's reply (models often wrap it in prose or a code fence). */
export function jsonInReply(text: string): unknown {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) return undefined;
  try {
    return JSON.parse(text.slice(start, end + 1));
  } catch {
    return undefined;
  }
}

/** Text shown to a model for any value. */
export function asText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}
