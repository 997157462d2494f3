import { describe, expect, it } from '@jest/globals';
import { FlowCheckpoint } from '../../src/models/checkpoint.js';
import { fastCheckpoint } from '../../src/store/checkpoint-validation.js';
import { checkpoint, node } from './helpers.js';

// The store validates with a hand-written fast path and falls back to zod whenever that path is unsure. It must
// never accept what zod rejects, and what it accepts must be exactly zod's output (same keys, same order).
const at = new Date('2025-01-02T03:04:05.678Z');
const full = checkpoint({
  workflowId: 'wf',
  tenantId: 'acme',
  traceContext: { traceparent: '00-abc-01', tracestate: 'k=v' },
  status: 'pending_input',
  parentCheckpointId: 'parent-1',
  nodeStates: {
    a: node('a', { input: { x: 1 }, output: undefined, internalState: [1, 2], stateVersion: 2, startedAt: at, completedAt: at }),
    b: node('b', { status: 'failure', error: { name: 'E', message: 'boom', code: 'X' } }),
  },
  completedNodeIds: ['a'],
  pendingNodeIds: ['b'],
  originalConfig: { k: 1 },
  pendingInputs: [{ nodePath: 'b', prompt: 'ok?', schema: { type: 'object' }, requestedAt: at, expiresAt: at, metadata: { m: 1 } }],
  metadata: { note: 'x' },
});

type Mutation = [string, (cp: Record<string, any>) => void];

const mutations: Mutation[] = [
  ['nothing', () => undefined],
  ['an unknown top-level key', (cp) => (cp.extra = 1)],
  ['an unknown node-state key', (cp) => (cp.nodeStates.a.extra = 1)],
  ['an optional key set to undefined', (cp) => (cp.tenantId = undefined)],
  ['an absent originalInput', (cp) => delete cp.originalInput],
  ['an undefined originalInput', (cp) => (cp.originalInput = undefined)],
  ['an empty id', (cp) => (cp.id = '')],
  ['a fractional seq', (cp) => (cp.seq = 1.5)],
  ['a negative seq', (cp) => (cp.seq = -1)],
  ['an unsafe integer seq', (cp) => (cp.seq = 2 ** 60)],
  ['schemaVersion 0', (cp) => (cp.schemaVersion = 0)],
  ['an unknown status', (cp) => (cp.status = 'sleeping')],
  ['an unknown node status', (cp) => (cp.nodeStates.a.status = 'sleeping')],
  ['an invalid date', (cp) => (cp.createdAt = new Date(Number.NaN))],
  ['a date string', (cp) => (cp.updatedAt = at.toISOString())],
  ['a missing attempt', (cp) => delete cp.nodeStates.b.attempt],
  ['a bad error', (cp) => (cp.nodeStates.b.error = { name: 'E' })],
  ['a null parent', (cp) => (cp.parentCheckpointId = null)],
  ['a number in completedNodeIds', (cp) => (cp.completedNodeIds = [1])],
  ['a sparse pendingNodeIds', (cp) => (cp.pendingNodeIds = new Array(2))],
  ['an array as originalConfig', (cp) => (cp.originalConfig = [])],
  ['a class instance as metadata', (cp) => (cp.metadata = new (class Meta {})())],
  ['a null-prototype metadata', (cp) => (cp.metadata = Object.assign(Object.create(null), { a: 1 }))],
  ['a symbol key in metadata', (cp) => (cp.metadata = { [Symbol('s')]: 1 })],
  ['a non-enumerable key in originalConfig', (cp) => Object.defineProperty(cp.originalConfig, 'hidden', { value: 1, enumerable: false })],
  ['an empty nodePath', (cp) => (cp.pendingInputs[0].nodePath = '')],
  ['a pending input without metadata', (cp) => delete cp.pendingInputs[0].metadata],
  ['a trace context without traceparent', (cp) => (cp.traceContext = {})],
  ['a null checkpoint', (cp) => Object.keys(cp).forEach((k) => delete cp[k])],
];

function mutated(mutate: Mutation[1]): Record<string, any> {
  const copy = structuredClone(full) as Record<string, any>;
  copy.nodeStates.a.output = undefined; // structuredClone keeps it, but be explicit: present and undefined
  mutate(copy);
  return copy;
}

describe('checkpoint validation fast path', () => {
  it.each(mutations)('agrees with zod on %s', (_, mutate) => {
    const input = mutated(mutate);
    const zod = FlowCheckpoint.safeParse(input);
    const fast = fastCheckpoint(input);
    if (!zod.success) {
      expect(fast).toBeUndefined();
      return;
    }
    if (fast === undefined) return; // unsure: zod decides, which is always correct
    expect(fast).toStrictEqual(zod.data);
    expect(JSON.stringify(fast.nodeStates)).toBe(JSON.stringify(zod.data.nodeStates));
    expect(JSON.stringify(fast.pendingInputs)).toBe(JSON.stringify(zod.data.pendingInputs));
  });

  it('takes the fast path for an ordinary checkpoint', () => {
    expect(fastCheckpoint(full)).toStrictEqual(FlowCheckpoint.parse(full));
    expect(fastCheckpoint(null)).toBeUndefined();
  });
});
