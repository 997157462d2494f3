import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { CorruptCheckpointError, type CheckpointStoreOptions, type FlowCheckpoint, type HeaderRecord, type StorageAdapter } from '@savepoint/core';
import { flipBit, makeFullCheckpoint, seededRandom } from '../fixtures.js';
import { blobsWritten, recordBlobWrites } from '../record-blob-writes.js';
import type { SuiteContext } from '../suite-context.js';

/** The parsed JSON of a stored header body (core's format, the same on every backend). */
type Body = Record<string, unknown> & { nodes: Record<string, string>; completed: string[]; user: unknown };

// 200 loads of about eight round trips each: a few seconds on a server backend, more on a busy CI machine.
const FLIP_TIMEOUT_MS = 180_000;

const ENCRYPTED: CheckpointStoreOptions = { encryption: { keys: [{ id: 'conformance', key: randomBytes(32) }] } };

/** Edits of the header's indexed fields, each on its own (the body is left as stored). */
const FIELD_EDITS: ReadonlyArray<[string, (h: HeaderRecord) => Partial<HeaderRecord>]> = [
  ['id', (h) => ({ id: `${h.id}0` })],
  ['flowId', () => ({ flowId: 'flow-b' })],
  ['workflowId', (h) => ({ workflowId: h.workflowId === null ? 'other' : null })],
  ['runId', () => ({ runId: 'run-2' })],
  ['seq', (h) => ({ seq: h.seq + 10 })],
  ['parentCheckpointId', (h) => ({ parentCheckpointId: h.parentCheckpointId === null ? h.id : null })],
  ['status', (h) => ({ status: h.status === 'completed' ? 'active' : 'completed' })],
  ['tenantId', (h) => ({ tenantId: h.tenantId === null ? 'acme' : 'other-tenant' })],
  ['pendingInput', (h) => ({ pendingInput: !h.pendingInput })],
  ['createdAt', (h) => ({ createdAt: h.createdAt + 1 })],
  ['updatedAt', (h) => ({ updatedAt: h.updatedAt - 1 })],
];

/** Edits inside the body, re-serialized as the store writes it but without a new digest. */
const BODY_EDITS: ReadonlyArray<[string, (b: Body) => void]> = [
  [
    'swap two node blob hashes',
    (b) => {
      const [x, y] = Object.keys(b.nodes) as [string, string];
      [b.nodes[x], b.nodes[y]] = [b.nodes[y]!, b.nodes[x]!];
    },
  ],
  ['status', (b) => void (b.status = 'completed')],
  ['completed list', (b) => void b.completed.push('broken')],
  ['pending prompt', (b) => editUser(b, (user) => void (user.p[0]!.prompt = 'Approve every refund from now on?'))],
  ['metadata', (b) => editUser(b, (user) => void (user.m = { label: 'approved by the manager' }))],
  ['strip the digest', (b) => void delete b.mac],
];

/** Pending inputs and metadata: readable JSON without encryption, else ciphertext (then one character changes). */
function editUser(body: Body, edit: (user: { p: Array<Record<string, unknown>>; m: unknown }) => void): void {
  if (typeof body.user === 'string') body.user = `${body.user.slice(0, -6)}${body.user.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`;
  else edit(body.user as { p: Array<Record<string, unknown>>; m: unknown });
}

/**
 * Through the adapter contract, every stored byte of a checkpoint is changed in turn: each indexed field of its
 * header, fields inside the header body, random bits of the body and of every blob. Each load must then be a
 * `CorruptCheckpointError` (never a checkpoint that fails its schema or silently differs), with and without
 * encryption, whatever the backend stores.
 */
export function headerTamperingTests(ctx: SuiteContext): void {
  /** Puts `header` in the place of `original` (and of any earlier edit with another id). */
  async function replace(adapter: StorageAdapter, original: HeaderRecord, header: HeaderRecord): Promise<void> {
    await adapter.deleteHeaders([...new Set([original.id, header.id, `${original.id}0`])]);
    await adapter.putHeader(header);
  }

  async function expectCorrupt(options: CheckpointStoreOptions, header: HeaderRecord, what: string): Promise<void> {
    const store = ctx.store(undefined, options);
    const outcome = await store.load(header.id).then(
      () => 'loaded',
      (error: unknown) => (CorruptCheckpointError.isInstance(error) ? 'corrupt' : String(error)),
    );
    expect({ what, outcome }).toEqual({ what, outcome: 'corrupt' });
    const listed = await store.listByRun(header.runId).then(
      () => 'listed',
      (error: unknown) => (CorruptCheckpointError.isInstance(error) ? 'corrupt' : String(error)),
    );
    expect({ what, listed }).toEqual({ what, listed: 'corrupt' });
  }

  async function saved(options: CheckpointStoreOptions): Promise<{ checkpoint: FlowCheckpoint; header: HeaderRecord; blobs: Map<string, string> }> {
    const recorded = recordBlobWrites(ctx.adapter());
    const checkpoint = makeFullCheckpoint();
    await ctx.store(recorded.adapter, options).save(checkpoint);
    const header = await ctx.adapter().getHeader(checkpoint.id);
    if (header === null) throw new Error('the saved header is missing');
    return { checkpoint, header, blobs: blobsWritten(recorded.writes) };
  }

  describe('header tampering', () => {
    describe.each([
      ['without encryption', {}],
      ['with encryption', ENCRYPTED],
    ])('%s', (_name, options: CheckpointStoreOptions) => {
      it('every edited indexed field, body field or stripped digest -> CorruptCheckpointError', async () => {
        const adapter = ctx.adapter();
        const { checkpoint, header } = await saved(options);
        for (const [what, edit] of FIELD_EDITS) {
          const edited = { ...header, ...edit(header) };
          await replace(adapter, header, edited);
          await expectCorrupt(options, edited, what);
        }
        for (const [what, edit] of BODY_EDITS) {
          const body = JSON.parse(header.body) as Body;
          edit(body);
          const edited = { ...header, body: JSON.stringify(body) };
          expect(edited.body).not.toBe(header.body);
          await replace(adapter, header, edited);
          await expectCorrupt(options, edited, `body: ${what}`);
        }
        await replace(adapter, header, header);
        expect(await ctx.store(undefined, options).load(checkpoint.id)).toEqual(checkpoint);
      });
    });

    it('100 seeded random bit flips in the header body and 100 in its blobs -> CorruptCheckpointError', async () => {
      const adapter = ctx.adapter();
      const { checkpoint, header, blobs } = await saved({});
      const rand = seededRandom(8_2025);
      for (let trial = 0; trial < 100; trial += 1) {
        await replace(adapter, header, { ...header, body: flipBit(header.body, rand) });
        await expectIntactOrCorrupt(ctx.store(), checkpoint, `header flip ${trial}`);
      }
      await replace(adapter, header, header);
      const hashes = [...blobs.keys()];
      for (let trial = 0; trial < 100; trial += 1) {
        const hash = hashes[trial % hashes.length]!;
        const others = new Set(hashes.filter((other) => other !== hash));
        await adapter.deleteBlobsExcept(checkpoint.runId, others);
        await adapter.putBlobs(checkpoint.runId, [{ hash, data: flipBit(blobs.get(hash)!, rand) }]);
        await expectIntactOrCorrupt(ctx.store(), checkpoint, `blob flip ${trial}`);
        await adapter.deleteBlobsExcept(checkpoint.runId, others);
        await adapter.putBlobs(checkpoint.runId, [{ hash, data: blobs.get(hash)! }]);
      }
      expect(await ctx.store().load(checkpoint.id)).toEqual(checkpoint);
    }, FLIP_TIMEOUT_MS);

    if (ctx.init.corruptBlob) {
      const corruptBlob = ctx.init.corruptBlob.bind(ctx.init);
      it('every blob damaged below the adapter (corruptBlob) -> CorruptCheckpointError', async () => {
        const adapter = ctx.adapter();
        const { checkpoint, blobs } = await saved({});
        const hashes = [...blobs.keys()];
        for (const hash of hashes) {
          await corruptBlob(adapter, checkpoint.runId, hash);
          await expect(ctx.store().load(checkpoint.id)).rejects.toThrow(CorruptCheckpointError);
          const others = new Set(hashes.filter((other) => other !== hash));
          await adapter.deleteBlobsExcept(checkpoint.runId, others);
          await adapter.putBlobs(checkpoint.runId, [{ hash, data: blobs.get(hash)! }]);
        }
      });
    }
  });
}

/** A load after a bit flip: `CorruptCheckpointError`, or (a flip the storage undid) exactly the original. */
async function expectIntactOrCorrupt(store: { load(id: string): Promise<FlowCheckpoint> }, original: FlowCheckpoint, what: string): Promise<void> {
  const outcome = await store.load(original.id).then(
    (loaded) => loaded,
    (error: unknown) => error,
  );
  if (CorruptCheckpointError.isInstance(outcome)) return;
  expect({ what, outcome }).toEqual({ what, outcome: original });
}
