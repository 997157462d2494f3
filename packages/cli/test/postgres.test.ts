import { serverProblem } from '@savepoint/test-servers';
import { describe, test } from '@jest/globals';
import { postgresBackend } from './helpers/backends';
import { spawned } from './helpers/runners';
import { cliSuite } from './helpers/suite';

// Under CI an unreachable server fails here; elsewhere the suite is skipped with a loud warning.
if (serverProblem('postgres', 'the CLI suite on PostgreSQL') === null) {
  cliSuite('savepoint on PostgreSQL (the built bin, as a process; own schema)', postgresBackend, spawned);
} else {
  describe('savepoint on PostgreSQL', () => test.todo('needs a PostgreSQL server (DATABASE_URL)'));
}
