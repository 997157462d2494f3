import { CHECKPOINT_SCHEMA_VERSION, type FlowCheckpoint, type NodeCheckpointState } from '../../src/models/checkpoint.js';
import type { BlobCipher } from '../../src/store/encryption.js';
import { openHeaderBody, sealHeaderBody } from '../../src/store/header-seal.js';
import type { BlobRecord, HeaderRecord, PutHeaderOptions, StorageAdapter } from '../../src/store/storage-adapter.js';
import { uuidv7 } from '../../src/util/uuidv7.js';

/** Wraps an adapter and counts what is written to it. */
export function countingAdapter<A extends StorageAdapter>(inner: A) {
  const stats = { blobBytes: 0, blobs: 0, headerBytes: 0, headers: 0 };
  const adapter: StorageAdapter = Object.create(inner);
  adapter.putBlobs = async (runId: string, blobs: readonly BlobRecord[]) => {
    for (const b of blobs) {
      stats.blobs += 1;
      stats.blobBytes += Buffer.byteLength(b.data, 'utf8');
    }
    return inner.putBlobs(runId, blobs);
  };
  adapter.putHeader = async (header: HeaderRecord, options?: PutHeaderOptions) => {
    await inner.putHeader(header, options);
    stats.headers += 1;
    stats.headerBytes += Buffer.byteLength(header.body, 'utf8');
  };
  return { adapter, stats, total: () => stats.blobBytes + stats.headerBytes };
}

export function node(nodeId: string, extra: Partial<NodeCheckpointState> = {}): NodeCheckpointState {
  return { nodeId, nodeType: 'function', status: 'success', attempt: 0, ...extra };
}

export function checkpoint(overrides: Partial<FlowCheckpoint> = {}): FlowCheckpoint {
  const now = new Date('2025-01-02T03:04:05.678Z');
  return {
    id: uuidv7(),
    flowId: 'flow-1',
    runId: 'run-1',
    seq: 0,
    parentCheckpointId: null,
    status: 'active',
    nodeStates: {},
    completedNodeIds: [],
    pendingNodeIds: [],
    originalInput: { query: 'hello' },
    originalConfig: {},
    pendingInputs: [],
    createdAt: now,
    updatedAt: now,
    schemaVersion: CHECKPOINT_SCHEMA_VERSION,
    libraryVersion: '0.1.0',
    metadata: {},
    ...overrides,
  };
}

/** Successor of `cp` in the same run. */
export function next(cp: FlowCheckpoint, overrides: Partial<FlowCheckpoint> = {}): FlowCheckpoint {
  return { ...cp, id: uuidv7(), seq: cp.seq + 1, parentCheckpointId: cp.id, ...overrides };
}

/** Wraps an adapter, lets a test change what `getBlobs`/`getHeader` return, and records everything written. */
export function interceptingAdapter<A extends StorageAdapter>(inner: A) {
  const written: string[] = [];
  const hashesByRun = new Map<string, Set<string>>();
  const hooks: {
    blobs?: (runId: string, found: Map<string, string>) => void;
    header?: (record: HeaderRecord) => HeaderRecord | null;
  } = {};
  const adapter: StorageAdapter = Object.create(inner);
  adapter.putBlobs = async (runId, blobs) => {
    for (const b of blobs) {
      written.push(b.data);
      if (!hashesByRun.has(runId)) hashesByRun.set(runId, new Set());
      hashesByRun.get(runId)!.add(b.hash);
    }
    return inner.putBlobs(runId, blobs);
  };
  adapter.putHeader = async (header, options) => {
    written.push(header.body);
    return inner.putHeader(header, options);
  };
  adapter.getBlobs = async (runId, hashes) => {
    const found = await inner.getBlobs(runId, hashes);
    hooks.blobs?.(runId, found);
    return found;
  };
  adapter.getHeader = async (id) => {
    const record = await inner.getHeader(id);
    return record && hooks.header ? hooks.header(record) : record;
  };
  /** How many blobs the adapter still holds for a run (of those written through this wrapper). */
  const remaining = async (runId: string) => (await inner.getBlobs(runId, [...(hashesByRun.get(runId) ?? [])])).size;
  return { adapter, written, hooks, remaining, hashesByRun };
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}

/** The JSON body of a stored header, without its digest. */
export function headerBody(record: HeaderRecord, cipher?: BlobCipher): Record<string, unknown> {
  const body = openHeaderBody(record, cipher);
  delete body.k;
  return body;
}

/**
 * A header with `changes` applied to its fields and body, re-signed as a writer without the encryption key can
 * (a plain SHA-256): what someone with write access to an unencrypted storage can forge.
 */
export function forgeHeader(record: HeaderRecord, changes: Partial<HeaderRecord>, body: Record<string, unknown>): HeaderRecord {
  const { body: _old, ...fields } = { ...record, ...changes };
  return { ...fields, body: sealHeaderBody(fields, { ...body }, undefined) };
}
