import { CHECKPOINT_SCHEMA_VERSION, uuidv7, type FlowCheckpoint, type HeaderRecord } from '@savepoint/core';

const BASE_TIME = Date.UTC(2025, 0, 15, 12, 0, 0);

/** A minimal valid checkpoint; tests override what they exercise. */
export function makeCheckpoint(overrides: Partial<FlowCheckpoint> = {}): FlowCheckpoint {
  const at = new Date(BASE_TIME);
  return {
    id: uuidv7(),
    flowId: 'flow-a',
    runId: 'run-1',
    seq: 0,
    parentCheckpointId: null,
    status: 'active',
    nodeStates: {
      fetch: { nodeId: 'fetch', nodeType: 'function', status: 'success', output: { rows: 3 }, attempt: 1 },
    },
    completedNodeIds: ['fetch'],
    pendingNodeIds: [],
    originalInput: { question: 'why?' },
    originalConfig: {},
    pendingInputs: [],
    createdAt: at,
    updatedAt: at,
    schemaVersion: CHECKPOINT_SCHEMA_VERSION,
    libraryVersion: '0.1.0',
    metadata: {},
    ...overrides,
  };
}

/** A checkpoint that sets every optional field of `FlowCheckpoint` and of the types nested in it. */
export function makeFullCheckpoint(overrides: Partial<FlowCheckpoint> = {}): FlowCheckpoint {
  return makeCheckpoint({
    workflowId: 'support-bot',
    seq: 4,
    parentCheckpointId: uuidv7(),
    status: 'pending_input',
    nodeStates: {
      fetch: {
        nodeId: 'fetch',
        nodeType: 'function',
        status: 'success',
        input: { q: 'why?' },
        output: { rows: [1, 2, 3] },
        internalState: { cursor: 'abc', pages: [1, 2] },
        stateVersion: 2,
        startedAt: new Date(BASE_TIME + 1),
        completedAt: new Date(BASE_TIME + 2),
        attempt: 2,
      },
      broken: {
        nodeId: 'broken',
        nodeType: 'agent',
        status: 'failure',
        error: { name: 'RateLimitError', message: 'slow down', code: '429' },
        attempt: 3,
      },
      approve: { nodeId: 'approve', nodeType: 'human-input', status: 'pending_input', attempt: 0 },
    },
    completedNodeIds: ['fetch'],
    pendingNodeIds: ['broken', 'approve'],
    originalInput: { question: 'why?', attachments: ['a.pdf'] },
    originalConfig: { model: 'small', temperature: 0.2 },
    pendingInputs: [
      {
        nodePath: 'research/agent/tool:approve',
        prompt: 'Approve the refund?',
        schema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
        requestedAt: new Date(BASE_TIME + 3),
        expiresAt: new Date(BASE_TIME + 86_400_000),
        metadata: { amount: 42 },
      },
      { nodePath: 'map-1[3]/approve', prompt: 'And this one?', schema: {}, requestedAt: new Date(BASE_TIME + 4), metadata: {} },
    ],
    createdAt: new Date(BASE_TIME + 5),
    updatedAt: new Date(BASE_TIME + 6),
    tenantId: 'acme',
    traceContext: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'vendor=1' },
    metadata: { label: 'before approval', tags: ['a', 'b'] },
    ...overrides,
  });
}

/** One value of every type the codec must carry, nested inside each other. */
export function makeCodecSample(): Record<string, unknown> {
  return {
    date: new Date(BASE_TIME),
    map: new Map<unknown, unknown>([
      ['k', 1],
      [2, { inner: new Set(['x']) }],
    ]),
    set: new Set([1, 'two', new Date(BASE_TIME)]),
    bigint: 2n ** 70n,
    negativeBigint: -5n,
    bytes: new Uint8Array([0, 1, 254, 255]),
    buffer: Buffer.from('héllo'),
    missing: undefined,
    sparse: [1, undefined, 3],
    nan: NaN,
    infinity: Infinity,
    negativeInfinity: -Infinity,
    nested: { deeper: { list: [new Map([['d', new Date(BASE_TIME + 7)]]), [new Set([3n])]] } },
    unicode: 'emoji 🎉 and \u2028 separators',
  };
}

/** An agent history of at least `bytes` bytes of JSON. */
export function makeLargeHistory(bytes: number): Array<{ role: string; content: string; i: number }> {
  const content = 'The quick brown fox jumps over the lazy dog. '.repeat(4);
  const count = Math.ceil(bytes / (content.length + 40));
  return Array.from({ length: count }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content, i }));
}

/** A header record for adapter-level tests (the body is opaque to adapters). */
export function makeHeader(overrides: Partial<HeaderRecord> = {}): HeaderRecord {
  return {
    id: uuidv7(),
    flowId: 'flow-a',
    workflowId: null,
    runId: 'run-1',
    seq: 0,
    parentCheckpointId: null,
    status: 'active',
    tenantId: null,
    pendingInput: false,
    createdAt: BASE_TIME,
    updatedAt: BASE_TIME,
    body: JSON.stringify({ nodes: { fetch: 'h1' } }),
    ...overrides,
  };
}

/** Fisher–Yates with a seeded generator: a scrambled order that is the same on every run. */
export function shuffled<T>(items: readonly T[], seed = 7): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i -= 1) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** mulberry32: a seeded generator whose every bit is usable; `rand(n)` is an integer in [0, n). Replayable by seed. */
export function seededRandom(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/**
 * `text` with one random bit of its UTF-8 bytes flipped, as storage bit rot would. A flip that would make a NUL
 * byte is drawn again (PostgreSQL text cannot hold one); an invalid UTF-8 sequence decodes to U+FFFD.
 */
export function flipBit(text: string, rand: (n: number) => number): string {
  const bytes = Buffer.from(text, 'utf8');
  for (;;) {
    const at = rand(bytes.length);
    const flipped = bytes[at]! ^ (1 << rand(8));
    if (flipped === 0) continue;
    bytes[at] = flipped;
    return bytes.toString('utf8');
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
