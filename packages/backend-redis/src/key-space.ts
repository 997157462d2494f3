import { InvalidArgumentError, type HeaderRecord } from '@savepoint/core';

/** The keys one run owns. They share the `{runId}` hash tag, so on Redis Cluster they would share a slot. */
export interface RunKeys {
  /** HASH owner, token, expiresAt (epoch ms, server clock; 0 once released). */
  readonly lease: string;
  /** HASH checkpoint id -> header JSON. */
  readonly headers: string;
  /** ZSET checkpoint id scored by seq: the run's order, and its head (highest seq). */
  readonly seq: string;
  /** HASH blob hash -> data. */
  readonly blobs: string;
  /** STREAM of the run's events, entry id `<seq>-0`: the stream's last id is the run's seq counter. */
  readonly events: string;
  /** HASH input key -> input JSON (nodePath, value, createdAt), written once. */
  readonly inputs: string;
  /** HASH input key -> `<consumedAt> <consumer>`, written once by the taker. */
  readonly consumed: string;
}

/** The keys of a run, in the order every run-scoped script takes them first: KEYS[1..RUN_KEY_COUNT]. */
const RUN_KEY_NAMES: ReadonlyArray<keyof RunKeys> = ['lease', 'headers', 'seq', 'blobs', 'events', 'inputs', 'consumed'];
export const RUN_KEY_COUNT = RUN_KEY_NAMES.length;

/**
 * Every key name the backend uses, derived from the prefix and validated ids only. Cross-run indexes are
 * ZSETs whose members all score 0 and read `<id> <runId>`, so ZRANGEBYLEX walks them in id order (UUIDv7:
 * creation order) and each member says which run holds its header. A space sorts below every id
 * character, so `(<beforeId>` excludes exactly the ids that are not below it.
 */
export class KeySpace {
  /** HASH checkpoint id -> runId: finds a header from its id alone and makes ids unique across runs. */
  readonly ids: string;
  /** ZSET of every header. */
  readonly all: string;
  /** ZSET of headers waiting for input. */
  readonly pending: string;

  constructor(readonly prefix: string) {
    if (typeof prefix !== 'string' || prefix.length === 0 || /[{}]/.test(prefix)) {
      throw new InvalidArgumentError(
        `RedisBackend option prefix must be a non-empty string without '{' or '}' (the backend puts each run id in a hash tag), got ${JSON.stringify(prefix)}.`,
      );
    }
    this.ids = `${prefix}idx:ids`;
    this.all = `${prefix}idx:all`;
    this.pending = `${prefix}idx:pending`;
  }

  run(runId: string): RunKeys {
    const base = this.runBase(runId);
    return Object.fromEntries(RUN_KEY_NAMES.map((name) => [name, `${base}${name}`])) as unknown as RunKeys;
  }

  /** The run's keys in the order every write script takes them as KEYS[1..RUN_KEY_COUNT]. */
  runKeyList(runId: string): string[] {
    const base = this.runBase(runId);
    return RUN_KEY_NAMES.map((name) => `${base}${name}`);
  }

  /** The pub/sub channel of a run's changes, or of every run's (`*`, a literal channel name, not a pattern). */
  changes(channel: string): string {
    return `${this.prefix}changes:${channel}`;
  }

  private runBase(runId: string): string {
    return `${this.prefix}{${runId}}:`;
  }

  /** The key of a run's header hash is `<before><runId><after>`: what a script needs to build it from a runId. */
  headersKeyParts(): [before: string, after: string] {
    return [`${this.prefix}{`, '}:headers'];
  }

  flow(flowId: string): string {
    return `${this.prefix}idx:flow:${flowId}`;
  }

  /** Written by older releases only (no query of the store filters on one status alone); deletes still clean it. */
  status(status: string): string {
    return `${this.prefix}idx:status:${status}`;
  }

  /**
   * A tenant's index. `idx:no-tenant` (tenant null) was written by older releases only (in a deployment without
   * tenants it duplicated `idx:all`); deletes still clean it.
   */
  tenant(tenantId: string | null): string {
    return tenantId === null ? `${this.prefix}idx:no-tenant` : `${this.prefix}idx:tenant:${tenantId}`;
  }

  /**
   * The keys a header write touches, in the order the scripts expect: the run's keys (which every script
   * refreshes the TTL of), the id map, then the indexes (all, flow, tenant, pending). The tenant index is
   * written only for a header with a tenant.
   */
  headerKeys(header: Pick<HeaderRecord, 'runId' | 'flowId' | 'tenantId'>): string[] {
    return [...this.runKeyList(header.runId), this.ids, this.all, this.flow(header.flowId), this.tenant(header.tenantId), this.pending];
  }

  /** The keys a header delete touches: those of its write, then the status index older releases wrote. */
  headerDeleteKeys(header: Pick<HeaderRecord, 'runId' | 'flowId' | 'status' | 'tenantId'>): string[] {
    return [...this.headerKeys(header), this.status(header.status)];
  }
}

/** `<id> <runId>`: an index member. */
export function indexMember(id: string, runId: string): string {
  return `${id} ${runId}`;
}

export function parseIndexMember(member: string): { id: string; runId: string } {
  const space = member.indexOf(' ');
  return { id: member.slice(0, space), runId: member.slice(space + 1) };
}
