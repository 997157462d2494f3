// Must not compile: test/types.test.ts checks that the compiler reports exactly this error here, so a harness
// that compiled nothing (or ignored errors) cannot pass.
import type { EventEnvelope } from '../../src/client.js';

export function wrong(event: EventEnvelope<unknown, string>): number {
  return event.type === 'run_completed' ? event.data.output : 0;
}
