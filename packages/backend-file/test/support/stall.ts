import { jest } from '@jest/globals';
import { Stage } from '../../src/lock-stage.js';

export interface Stall {
  /** Resolves once the stalled writer reached the point where it publishes. */
  reached: Promise<void>;
  /** Lets it go on; restores `publish`. */
  resume(): void;
}

/**
 * Stalls the first publish out of a lock stage whose destination matches `into`: the moment a writer that has made
 * its checks publishes their result (a header, the lease, an event segment); with `after`, right after it. The
 * writer stays paused, holding whatever it held, until `resume()`: what a SIGSTOP or a long GC pause does to
 * another process.
 */
export function stallPublish(into: RegExp, { after = false } = {}): Stall {
  const real = Stage.prototype.publish;
  let reach!: () => void;
  let go!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const gate = new Promise<void>((resolve) => (go = resolve));
  let armed = true;
  const spy = jest.spyOn(Stage.prototype, 'publish').mockImplementation(async function (this: Stage, staged, path) {
    if (!armed || !into.test(path)) return real.call(this, staged, path);
    armed = false;
    if (after) await real.call(this, staged, path);
    reach();
    await gate;
    if (!after) await real.call(this, staged, path);
  });
  return {
    reached,
    resume() {
      spy.mockRestore();
      go();
    },
  };
}

/** Runs `work` with the clock an hour ahead: every lease and lock taken before looks expired and stale. */
export async function anHourLater<T>(work: () => Promise<T>): Promise<T> {
  const realNow = Date.now.bind(Date);
  const spy = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + 3_600_000);
  try {
    return await work();
  } finally {
    spy.mockRestore();
  }
}
