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
}

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
    const base = `${this.prefix}{${runId}}:`;
    return { lease: `${base}lease`, headers: `${base}headers`, seq: `${base}seq`, blobs: `${base}blobs` };
  }

  /** The run's keys in the order every write script takes them as KEYS[1..4]. */
  runKeyList(runId: string): string[] {
    const run = this.run(runId);
    return [run.lease, run.headers, run.seq, run.blobs];
  }

  /** The key of a run's header hash is `<before><runId><after>`: what a script needs to build it from a runId. */
  headersKeyParts(): [before: string, after: string] {
    return [`${this.prefix}{`, '}:headers'];
  }

  flow(flowId: string): string {
    return `${this.prefix}idx:flow:${flowId}`;
  }

  status(status: string): string {
    return `${this.prefix}idx:status:${status}`;
  }

  tenant(tenantId: string | null): string {
    return tenantId === null ? `${this.prefix}idx:no-tenant` : `${this.prefix}idx:tenant:${tenantId}`;
  }

  /**
   * The keys a header write or delete touches, in the order the scripts expect: the run's keys (1-4, which
   * every script refreshes the TTL of), the id map (5), then the indexes (6-10).
   */
  headerKeys(header: Pick<HeaderRecord, 'runId' | 'flowId' | 'status' | 'tenantId'>): string[] {
    return [
      ...this.runKeyList(header.runId),
      this.ids,
      this.all,
      this.flow(header.flowId),
      this.status(header.status),
      this.tenant(header.tenantId),
      this.pending,
    ];
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
