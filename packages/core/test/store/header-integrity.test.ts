import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { MemoryAdapter } from '../../src/adapters/memory-adapter.js';
import { CorruptCheckpointError, type SavepointError } from '../../src/errors.js';
import type { FlowCheckpoint } from '../../src/models/checkpoint.js';
import { CheckpointStore, type CheckpointStoreOptions } from '../../src/store/checkpoint-store.js';
import { BlobCipher } from '../../src/store/encryption.js';
import type { HeaderRecord } from '../../src/store/storage-adapter.js';
import { checkpoint, forgeHeader, headerBody, next, node, rejection } from './helpers.js';

const k1 = { id: 'k1', key: randomBytes(32) };
const k2 = { id: 'k2', key: randomBytes(32) };

function waiting(): FlowCheckpoint {
  return checkpoint({
    workflowId: 'wf',
    tenantId: 'acme',
    status: 'pending_input',
    nodeStates: {
      fetch: node('fetch', { output: { rows: [1, 2, 3] } }),
      send: node('send', { output: { sent: 'mail to bob' } }),
      approve: node('approve', { nodeType: 'human-input', status: 'pending_input' }),
    },
    completedNodeIds: ['fetch', 'send'],
    pendingNodeIds: ['approve'],
    pendingInputs: [{ nodePath: 'approve', prompt: 'Refund 10 EUR?', schema: { type: 'object' }, requestedAt: new Date(5), metadata: { amount: 10 } }],
    metadata: { label: 'before approval' },
  });
}

/** Puts `header` in place of any stored header with its id, or with the id of the header it was made from. */
async function replaceHeader(adapter: MemoryAdapter, header: HeaderRecord): Promise<void> {
  const [stored] = await adapter.queryHeaders({ runId: 'run-1' });
  await adapter.deleteHeaders([header.id, ...(stored ? [stored.id] : [])]);
  await adapter.putHeader(header);
}

/** A header whose body text is edited without re-signing it (what a storage-level edit does). */
function editBody(record: HeaderRecord, edit: (body: string) => string): HeaderRecord {
  const body = edit(record.body);
  if (body === record.body) throw new Error('the edit changed nothing');
  return { ...record, body };
}

/** Every targeted edit the defect report lists, as functions of a stored header. */
function tamperings(record: HeaderRecord, cipher?: BlobCipher): Array<[string, HeaderRecord]> {
  const body = headerBody(record, cipher);
  const nodes = body.nodes as Record<string, string>;
  const swapped = { ...nodes, fetch: nodes.send!, send: nodes.fetch! };
  const edited = (changes: Record<string, unknown>) => editBody(record, () => JSON.stringify({ ...body, ...changes, ...(cipher ? { k: cipher.activeKeyId } : {}) }).slice(0, -1) + record.body.slice(-53));
  const cases: Array<[string, HeaderRecord]> = [
    ['id', { ...record, id: `${record.id}x` }],
    ['flowId', { ...record, flowId: 'other-flow' }],
    ['workflowId', { ...record, workflowId: null }],
    ['runId', { ...record, runId: 'run-2' }],
    ['seq', { ...record, seq: record.seq + 5 }],
    ['parentCheckpointId', { ...record, parentCheckpointId: 'someone-else' }],
    ['status', { ...record, status: 'completed' }],
    ['tenantId', { ...record, tenantId: 'evil' }],
    ['pendingInput', { ...record, pendingInput: !record.pendingInput }],
    ['createdAt', { ...record, createdAt: record.createdAt + 1 }],
    ['updatedAt', { ...record, updatedAt: record.updatedAt - 1 }],
    ['body: swapped node blob hashes', edited({ nodes: swapped })],
    ['body: status', edited({ status: 'completed' })],
    ['body: completed list', edited({ completed: ['fetch'] })],
    ['body: digest stripped', editBody(record, (b) => `${b.slice(0, -53)}}`)],
    ['body: digest zeroed', editBody(record, (b) => `${b.slice(0, -45)}${'A'.repeat(43)}"}`)],
  ];
  if (!cipher) {
    // the prompt and metadata are readable only without encryption (with it, they are sealed in `user`)
    const user = body.user as { p: Array<Record<string, unknown>>; m: Record<string, unknown> };
    cases.push(
      ['body: prompt', edited({ user: { ...user, p: [{ ...user.p[0], prompt: 'Refund 10000 EUR?' }] } })],
      ['body: metadata', edited({ user: { ...user, m: { label: 'approved' } } })],
    );
  } else {
    cases.push(['body: sealed user data', edited({ user: `${String(body.user).slice(0, -4)}AAAA` })]);
  }
  return cases;
}

describe.each([
  ['without encryption', {} as CheckpointStoreOptions, undefined],
  ['with encryption', { encryption: { keys: [k1] } }, new BlobCipher({ keys: [k1] })],
])('header integrity %s', (_name, options, cipher) => {
  async function saved() {
    const adapter = new MemoryAdapter();
    const store = new CheckpointStore(adapter, options);
    const cp = waiting();
    await store.save(cp);
    return { adapter, store, cp, record: (await adapter.getHeader(cp.id))! };
  }

  it('every edit of an indexed field or of the body is a CorruptCheckpointError naming the checkpoint', async () => {
    const { adapter, store, cp, record } = await saved();
    const cases = tamperings(record, cipher);
    for (const [what, tampered] of cases) {
      await replaceHeader(adapter, tampered);
      const reader = new CheckpointStore(adapter, options);
      const error = await rejection(reader.load(tampered.id));
      expect({ what, corrupt: CorruptCheckpointError.isInstance(error) }).toEqual({ what, corrupt: true });
      expect(error.message).toContain(tampered.id);
      const listed = await rejection(reader.listByRun(tampered.runId));
      expect({ what, corrupt: CorruptCheckpointError.isInstance(listed) }).toEqual({ what, corrupt: true });
    }
    expect(cases.length).toBeGreaterThanOrEqual(17);
    await replaceHeader(adapter, record);
    expect(await store.load(cp.id)).toEqual(cp); // the original, put back, loads: only the edits were refused
  });

  it('a bit flip at any byte of the stored header is always detected', async () => {
    const { adapter, record } = await saved();
    const bytes = Buffer.from(record.body, 'utf8');
    for (let at = 0; at < bytes.length; at += 1) {
      const text = Buffer.from(bytes);
      text[at]! ^= 1 << (at % 8); // every byte, and every bit position along the way
      await replaceHeader(adapter, { ...record, body: text.toString('utf8') });
      const error = await rejection(new CheckpointStore(adapter, options).load(record.id));
      expect({ at, corrupt: CorruptCheckpointError.isInstance(error) }).toEqual({ at, corrupt: true });
    }
  });
});

describe('authenticated headers', () => {
  it('a header re-signed without the key (a recomputed SHA-256) is refused by an encrypting store', async () => {
    const adapter = new MemoryAdapter();
    const cp = waiting();
    await new CheckpointStore(adapter, { encryption: { keys: [k1] } }).save(cp);
    const record = (await adapter.getHeader(cp.id))!;
    const cipher = new BlobCipher({ keys: [k1] });
    const forged = forgeHeader(record, { status: 'completed', pendingInput: false }, { ...headerBody(record, cipher), status: 'completed' });
    await adapter.deleteHeaders([cp.id]);
    await adapter.putHeader(forged);
    const error = await rejection(new CheckpointStore(adapter, { encryption: { keys: [k1] } }).load(cp.id));
    expect(CorruptCheckpointError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/not authenticated although this store encrypts/);
  });

  it('rotation: headers signed with an older key still verify while that key is listed', async () => {
    const adapter = new MemoryAdapter();
    const cp = waiting();
    await new CheckpointStore(adapter, { encryption: { keys: [k1] } }).save(cp);
    const rotated = new CheckpointStore(adapter, { encryption: { keys: [k2, k1] } });
    expect(await rotated.load(cp.id)).toEqual(cp);
    const successor = next(cp, { status: 'active', pendingInputs: [], pendingNodeIds: [] });
    await rotated.save(successor);
    expect(headerBody((await adapter.getHeader(successor.id))!, new BlobCipher({ keys: [k2] })).f).toBe(2);
    const error = await rejection(new CheckpointStore(adapter, { encryption: { keys: [k2] } }).load(cp.id));
    expect(error.message).toMatch(/key 'k1'/);
  });
});

describe('decoded checkpoints are validated against their schema', () => {
  // Without encryption a storage writer can recompute the digest; what it forges must still never load as a
  // FlowCheckpoint that fails its own schema.
  async function forged(change: (record: HeaderRecord, body: Record<string, unknown>) => HeaderRecord) {
    const adapter = new MemoryAdapter();
    const cp = waiting();
    await new CheckpointStore(adapter).save(cp);
    const record = (await adapter.getHeader(cp.id))!;
    await adapter.deleteHeaders([cp.id]);
    await adapter.putHeader(change(record, headerBody(record)));
    return { store: new CheckpointStore(adapter), cp };
  }

  it('an unknown status, or a pending input without nodePath, is a CorruptCheckpointError on load and in listings', async () => {
    const badStatus = await forged((record, body) => forgeHeader(record, { status: 'no-such-status' as never, pendingInput: false }, { ...body, status: 'no-such-status' }));
    const user = (r: HeaderRecord) => headerBody(r).user as { p: Array<Record<string, unknown>>; m: unknown };
    const noPath = await forged((record, body) => {
      const { nodePath: _drop, ...pending } = user(record).p[0]!;
      return forgeHeader(record, {}, { ...body, user: { ...user(record), p: [pending] } });
    });
    for (const { store, cp } of [badStatus, noPath]) {
      const error = await rejection(store.load(cp.id));
      expect(CorruptCheckpointError.isInstance(error)).toBe(true);
      expect(error.message).toMatch(new RegExp(`Checkpoint ${cp.id} is corrupt: it does not match the checkpoint schema`));
      await expect(store.listByRun(cp.runId)).rejects.toThrow(CorruptCheckpointError);
    }
  });
});

describe('listings and corrupt headers', () => {
  async function runWithOneTampered() {
    const adapter = new MemoryAdapter();
    const store = new CheckpointStore(adapter);
    const first = waiting();
    const second = next(first, { status: 'active', pendingInputs: [], pendingNodeIds: [] });
    const other = checkpoint({ runId: 'run-2', status: 'pending_input', pendingInputs: waiting().pendingInputs });
    for (const cp of [first, second, other]) await store.save(cp);
    // an attacker flags the run's newest (active) header as waiting for input
    const record = (await adapter.getHeader(second.id))!;
    await adapter.deleteHeaders([second.id]);
    await adapter.putHeader({ ...record, status: 'pending_input', pendingInput: true });
    return { store, first, second, other };
  }

  it('throw a CorruptCheckpointError naming the checkpoint by default: nothing vanishes silently', async () => {
    const { store, second } = await runWithOneTampered();
    for (const listing of [store.listByRun('run-1'), store.listByFlow('flow-1'), store.listPendingInput(), store.getChain(second.id)]) {
      const error = await rejection(listing);
      expect(CorruptCheckpointError.isInstance(error)).toBe(true);
      expect(error.message).toContain(second.id);
    }
  });

  it('with onCorrupt, leave the checkpoint out and report it; a tampered header is never listed as waiting', async () => {
    const { store, first, second, other } = await runWithOneTampered();
    const reported: SavepointError[] = [];
    const onCorrupt = (error: SavepointError) => reported.push(error);
    expect((await store.listByRun('run-1', { onCorrupt })).map((s) => s.id)).toEqual([first.id]);
    expect((await store.listByFlow('flow-1', { onCorrupt })).map((s) => s.id)).toEqual([other.id, first.id]);
    expect((await store.listPendingInput({ onCorrupt })).map((s) => s.id)).toEqual([other.id]);
    expect(await store.getChain(second.id, { onCorrupt })).toEqual([]);
    expect(reported).toHaveLength(4);
    for (const error of reported) expect(error.message).toContain(second.id);
  });
});
