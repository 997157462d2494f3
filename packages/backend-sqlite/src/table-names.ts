import { InvalidArgumentError } from '@savepoint/core';

/** Physical table names, derived once from the options so no SQL ever interpolates user input. */
export interface TableNames {
  readonly headers: string;
  readonly blobs: string;
  readonly heads: string;
  readonly leases: string;
  readonly events: string;
  readonly inputs: string;
  readonly migrations: string;
}

// Table names cannot be bound as parameters, so they are restricted to a plain identifier alphabet.
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

function assertIdentifier(value: string, option: string): void {
  if (typeof value === 'string' && IDENTIFIER.test(value)) return;
  throw new InvalidArgumentError(
    `SqliteBackend option ${option} ${JSON.stringify(value)} is not a valid SQL identifier: use letters, digits and '_', not starting with a digit.`,
  );
}

export function tableNames(tablePrefix: string, migrationTable: string): TableNames {
  assertIdentifier(tablePrefix, 'tablePrefix');
  assertIdentifier(migrationTable, 'migrationTable');
  return {
    headers: `${tablePrefix}headers`,
    blobs: `${tablePrefix}blobs`,
    heads: `${tablePrefix}heads`,
    leases: `${tablePrefix}leases`,
    events: `${tablePrefix}events`,
    inputs: `${tablePrefix}inputs`,
    migrations: migrationTable,
  };
}
