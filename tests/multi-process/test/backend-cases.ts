// One concurrent test case per backend, each with its own namespace and an inspector over it, both removed when
// the case ends. A backend whose server is not reachable is declared skipped (under CI the gate throws instead).
import { expect, it } from '@jest/globals';
import { Inspector } from './inspector.js';
import { ALL_BACKENDS, backendAvailable, openNamespace, type BackendKind, type Namespace } from './namespaces.js';
import { replayHint } from './seed.js';

export interface BackendCase {
  kind: BackendKind;
  namespace: Namespace;
  inspector: Inspector;
}

/** `name` gets the backend in place of `%s`; `what` names the suite in the gate's warning; `kinds` narrows the backends. */
export function eachBackend(
  what: string,
  name: string,
  body: (context: BackendCase) => Promise<void>,
  timeoutMs: number,
  kinds: readonly BackendKind[] = ALL_BACKENDS,
): void {
  const available = kinds.filter((kind) => backendAvailable(kind, what));
  const skipped = kinds.filter((kind) => !available.includes(kind));
  if (skipped.length > 0) it.skip.each(skipped)('%s (server not reachable)', () => undefined);
  it.concurrent.each(available)(
    name,
    async (kind: BackendKind) => {
      const namespace = await openNamespace(kind);
      const inspector = await Inspector.start(namespace.worker).catch(async (error: unknown) => {
        await namespace.close();
        throw error;
      });
      try {
        await body({ kind, namespace, inspector });
      } finally {
        inspector.stop();
        await namespace.close();
      }
    },
    timeoutMs,
  );
}

/** Fails with every violation and how to replay them (`file`: the test file to name in the command). */
export function expectNoViolations(violations: readonly string[], file: string): void {
  expect({ violations, replay: replayHint(file) }).toEqual({ violations: [], replay: replayHint(file) });
}
