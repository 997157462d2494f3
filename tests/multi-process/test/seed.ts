// One seed for every fault this package injects: CRASH_SEED=<printed seed> replays each kill and stop plan
// (the same delays, the same adapter calls, the same choices), on every backend.

export const SEED = process.env.CRASH_SEED !== undefined ? Number(process.env.CRASH_SEED) >>> 0 : Math.floor(Math.random() * 2 ** 32) >>> 0;

/** How to replay this very plan: printed with every failure and every summary. */
export const replayHint = (file: string) => `replay: cd tests/multi-process && CRASH_SEED=${SEED} npx jest ${file}`;

/** A count from the environment (e.g. CRASH_KILLS), never below the default. */
export function countFromEnv(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > fallback ? value : fallback;
}

export interface Random {
  /** Uniform in [0, 1). */
  (): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
}

/** A seeded stream for one independent part of the plan (a backend, a lane), so parts running concurrently replay alike. */
export function randomFor(...labels: Array<string | number>): Random {
  let state = labels.reduce<number>((hash, label) => fnv1a(`${hash}:${label}`), SEED);
  const next = (() => {
    // mulberry32: small, seedable, good enough to pick kill points.
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }) as Random;
  next.int = (min, max) => min + Math.floor(next() * (max - min + 1));
  next.pick = (items) => items[Math.floor(next() * items.length)]!;
  return next;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}
