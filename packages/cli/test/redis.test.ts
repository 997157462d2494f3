import { serverProblem } from '@savepoint/test-servers';
import { describe, test } from '@jest/globals';
import { redisBackend } from './helpers/backends';
import { spawned } from './helpers/runners';
import { cliSuite } from './helpers/suite';

// Under CI an unreachable server fails here; elsewhere the suite is skipped with a loud warning.
if (serverProblem('redis', 'the CLI suite on Redis') === null) {
  cliSuite('savepoint on Redis (the built bin, as a process; own key prefix)', redisBackend, spawned);
} else {
  describe('savepoint on Redis', () => test.todo('needs a Redis server (REDIS_URL)'));
}
