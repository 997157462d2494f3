import { z } from 'zod';
import { InvalidArgumentError, type SchemaIssue } from '../errors.js';

/** The zod releases whose schemas core reads (`peerDependencies.zod` of the package says the same). */
export const SUPPORTED_ZOD_RANGE = '^4.1.0';

/**
 * Refuses a schema core cannot read, where it enters (a node's options, `ctx.requestInput`), rather than deep
 * inside a run. Core reads a schema's zod 4 internals (`_zod`); a zod 3 schema (from zod 3, or zod 4's `zod/v3`)
 * has `_def` and no `_zod`, and would only fail later with "Cannot read properties of undefined (reading 'def')".
 * `what` names the option, e.g. `HumanInput "approve" schema`.
 */
export function assertZodSchema(schema: unknown, what: string): void {
  if (typeof schema === 'object' && schema !== null && '_zod' in schema) return;
  const installed = `@savepoint/core runs with zod ${installedZodVersion()}`;
  const fix = `create it with zod ${SUPPORTED_ZOD_RANGE} (npm install zod@${SUPPORTED_ZOD_RANGE}; import { z } from 'zod', not 'zod/v3')`;
  if (typeof schema === 'object' && schema !== null && '_def' in schema) {
    throw new InvalidArgumentError(`${what} is a zod 3 schema, but @savepoint/core reads zod ${SUPPORTED_ZOD_RANGE} schemas only (${installed}): ${fix}.`);
  }
  throw new InvalidArgumentError(`${what} must be a zod ${SUPPORTED_ZOD_RANGE} schema, got ${schema === null ? 'null' : typeof schema} (${installed}): ${fix}.`);
}

/**
 * Refuses, when core is loaded, a `zod` that is not zod 4 (npm only warns about a peer out of range, and
 * `--legacy-peer-deps` skips it): core builds its own schemas with zod 4 as its modules load, and zod 3 would
 * fail there with an unrelated "prefault is not a function". `zod` is the module `import * as zod from 'zod'` gives.
 */
export function assertZod4(zod: { z?: { core?: { version?: { major?: unknown } } } }): void {
  const version = zod.z?.core?.version;
  if (typeof version?.major === 'number' && version.major >= 4) return;
  throw new InvalidArgumentError(
    `@savepoint/core needs zod ${SUPPORTED_ZOD_RANGE}, but the zod it loads is ${version ? 'not zod 4' : 'zod 3 or older'}: ` +
      `npm install zod@${SUPPORTED_ZOD_RANGE} (and remove --legacy-peer-deps / overrides that pin another zod).`,
  );
}

function installedZodVersion(): string {
  const { major, minor, patch } = z.core.version;
  return `${major}.${minor}.${patch}`;
}

/** A value checked against a schema: zod's output (transforms and defaults applied), or why it fails. */
export type SchemaCheck = { ok: true; data: unknown } | { ok: false; issues: SchemaIssue[]; summary: string };

/** Checks `value` with `safeParseAsync`, so schemas with async refinements work too. */
export async function checkSchema(schema: z.ZodType, value: unknown): Promise<SchemaCheck> {
  const parsed = await schema.safeParseAsync(value);
  if (parsed.success) return { ok: true, data: parsed.data };
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  return { ok: false, issues, summary: z.prettifyError(parsed.error) };
}
