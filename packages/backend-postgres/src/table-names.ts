import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '@savepoint/core';
import { sql, type RawBuilder } from 'kysely';

/**
 * Physical names, derived once from the options. Every name is a validated identifier, quoted when used, so
 * no SQL ever interpolates user input and mixed-case names keep their case.
 */
export interface TableNames {
  readonly schema: string;
  readonly prefix: string;
  /** Unqualified table names (for Kysely's schema builder, used with `withSchema(schema)`). */
  readonly headers: string;
  readonly blobs: string;
  readonly heads: string;
  readonly leases: string;
  readonly events: string;
  readonly eventSeqs: string;
  readonly inputs: string;
  readonly migrations: string;
  /** The function committing a checkpoint in one statement (migration 0003). */
  readonly commitCheckpoint: string;
  /**
   * The name of the prepared statement calling that function, one per schema and prefix (a connection holds one
   * statement per name): `<prefix>commit_` and 12 hex digits of a hash of both.
   */
  readonly commitStatement: string;
  /**
   * The LISTEN/NOTIFY channel of the backends sharing this schema and prefix: `<prefix>changes_` and 12 hex
   * digits of a hash of both (a channel is an identifier, at most 63 bytes; the schema alone may fill that).
   */
  readonly changes: string;
  /** Schema-qualified, quoted references for raw SQL. */
  readonly sql: {
    readonly schema: RawBuilder<unknown>;
    readonly headers: RawBuilder<unknown>;
    readonly blobs: RawBuilder<unknown>;
    readonly heads: RawBuilder<unknown>;
    readonly leases: RawBuilder<unknown>;
    readonly events: RawBuilder<unknown>;
    readonly eventSeqs: RawBuilder<unknown>;
    readonly inputs: RawBuilder<unknown>;
    readonly migrations: RawBuilder<unknown>;
    readonly commitCheckpoint: RawBuilder<unknown>;
  };
}

// Names cannot be bound as parameters, so they are restricted to a plain identifier alphabet.
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// PostgreSQL silently truncates longer identifiers, which could make two names collide.
const MAX_IDENTIFIER = 63;
// The longest name derived from the prefix (an index name).
const LONGEST_SUFFIX = 'headers_pending_input'.length;

function assertIdentifier(value: unknown, option: string, maxLength = MAX_IDENTIFIER): asserts value is string {
  if (typeof value === 'string' && IDENTIFIER.test(value) && value.length <= maxLength) return;
  throw new InvalidArgumentError(
    `PostgresBackend option ${option} ${JSON.stringify(value)} is not a valid identifier: use at most ${maxLength} letters, digits and '_', not starting with a digit.`,
  );
}

const quote = (name: string) => `"${name}"`;

export function tableNames(schema: string, prefix: string, migrationTable: string): TableNames {
  assertIdentifier(schema, 'schema');
  assertIdentifier(prefix, 'tablePrefix', MAX_IDENTIFIER - LONGEST_SUFFIX);
  assertIdentifier(migrationTable, 'migrationTable');
  const names = {
    headers: `${prefix}headers`,
    blobs: `${prefix}blobs`,
    heads: `${prefix}heads`,
    leases: `${prefix}leases`,
    events: `${prefix}events`,
    eventSeqs: `${prefix}event_seqs`,
    inputs: `${prefix}inputs`,
    migrations: migrationTable,
    commitCheckpoint: `${prefix}commit_checkpoint`,
  };
  const qualified = (table: string) => sql.raw(`${quote(schema)}.${quote(table)}`);
  const shortDigest = digest(schema, prefix).toString('hex').slice(0, 12);
  return {
    schema,
    prefix,
    ...names,
    changes: `${prefix}changes_${shortDigest}`,
    commitStatement: `${prefix}commit_${shortDigest}`,
    sql: {
      schema: sql.raw(quote(schema)),
      headers: qualified(names.headers),
      blobs: qualified(names.blobs),
      heads: qualified(names.heads),
      leases: qualified(names.leases),
      events: qualified(names.events),
      eventSeqs: qualified(names.eventSeqs),
      inputs: qualified(names.inputs),
      migrations: qualified(names.migrations),
      commitCheckpoint: qualified(names.commitCheckpoint),
    },
  };
}

/**
 * A 64-bit advisory lock key (as a decimal string for a `bigint` parameter) derived from `parts`, so that
 * backends sharing a schema and prefix serialize their migrations while unrelated ones do not.
 */
export function advisoryLockKey(...parts: string[]): string {
  return digest(...parts).readBigInt64BE(0).toString();
}

function digest(...parts: string[]): Buffer {
  return createHash('sha256').update(`savepoint:${parts.join('\u0000')}`).digest();
}
