import { sleep } from '../util/backoff.js';

/**
 * Time and chance as retries see them: when an attempt is due, how a back-off waits, and the jitter's
 * randomness. Inject one (`new Workflow({ clock })`) to make retries deterministic in tests.
 */
export interface Clock {
  now(): number;
  /** Waits `ms`; must reject with `signal.reason` as soon as the signal aborts (and then hold no timer). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** A number in [0, 1), for jitter. */
  random(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now(), sleep, random: () => Math.random() });
