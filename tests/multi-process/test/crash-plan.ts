// Where the crash test kills its workers: seeded choices of what runs in a step (node execution, retention, or
// both at once) and of each worker's kill point (a timer, or an exact adapter call, see test/adapter-probe.cjs).
import type { Random } from './seed.js';

export interface DieAt {
  call: string;
  nth: number;
  phase: 'before' | 'after';
}

/** A crash worker: SIGKILLed `delayMs` after it got into the run, or killing itself at `dieAt`; neither: it finishes. */
export interface NodeKill {
  delayMs?: number;
  dieAt?: DieAt;
}

/** A retention worker: kills itself at `dieAt`, or is SIGKILLed `delayMs` after it started (or when the crash worker is gone). */
export interface GcKill {
  startAfterMs: number;
  delayMs: number;
  dieAt?: DieAt;
}

export interface StepPlan {
  node?: NodeKill;
  gc?: GcKill;
}

const MAX_DELAY_MS = 150;

// The calls a crash worker makes while running the 6-node flow (a commit per node, a few renewals), and at most
// how many of each a run needs from one worker.
const NODE_CALLS: ReadonlyArray<{ call: string; most: number; phases: DieAt['phase'][] }> = [
  { call: 'commit', most: 7, phases: ['before', 'after'] },
  { call: 'putBlobs', most: 7, phases: ['before', 'after'] },
  { call: 'acquireLease', most: 1, phases: ['after'] },
  { call: 'renewLease', most: 3, phases: ['before', 'after'] },
  { call: 'releaseLease', most: 1, phases: ['before'] },
];

// Retention's calls: deleting headers, then under the run's GC lease reading what remains and deleting blobs.
const GC_CALLS: ReadonlyArray<{ call: string; most: number; phases: DieAt['phase'][]; weight: number }> = [
  { call: 'gc:acquireLease', most: 2, phases: ['after'], weight: 4 },
  { call: 'gc:releaseLease', most: 2, phases: ['before'], weight: 2 },
  { call: 'deleteBlobsExcept', most: 2, phases: ['before', 'after'], weight: 2 },
  { call: 'getBlobs', most: 3, phases: ['before'], weight: 1 },
  { call: 'deleteHeaders', most: 2, phases: ['before', 'after'], weight: 2 },
];
const GC_WEIGHTED = GC_CALLS.flatMap((entry) => Array.from({ length: entry.weight }, () => entry));

/** 50% node execution only, 25% node execution with retention running alongside, 25% retention only. */
export function planStep(random: Random): StepPlan {
  const roll = random();
  const node = roll < 0.75 ? planNodeKill(random) : undefined;
  return { node, gc: roll >= 0.5 ? planGcKill(random, node === undefined) : undefined };
}

function planNodeKill(random: Random): NodeKill {
  if (random() < 0.5) return { delayMs: random.int(0, MAX_DELAY_MS) };
  const { call, most, phases } = random.pick(NODE_CALLS);
  return { dieAt: { call, nth: random.int(1, most), phase: random.pick(phases) } };
}

function planGcKill(random: Random, alone: boolean): GcKill {
  // Alongside a crash worker, sweeps start anywhere in its run. Alone, most start once the killed worker's 300 ms
  // lease has expired, so the sweep can take the run's GC lease and die holding it.
  const startAfterMs = alone && random() < 0.8 ? random.int(320, 480) : random.int(0, 400);
  if (random() < 0.4) return { startAfterMs, delayMs: random.int(0, startAfterMs + 200) };
  const { call, most, phases } = random.pick(GC_WEIGHTED);
  return { startAfterMs, delayMs: startAfterMs + 600, dieAt: { call, nth: random.int(1, most), phase: random.pick(phases) } };
}
