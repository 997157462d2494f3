import { describe, expect, it, jest } from '@jest/globals';
import { silentLogger } from '@savepoint/core';
import { SqliteBackend } from '../src/index.js';

describe('SqliteBackend logger', () => {
  it('reports the migrations it applies at info level, once', async () => {
    const logger = { ...silentLogger, info: jest.fn() };
    const backend = new SqliteBackend({ path: ':memory:', logger });
    await backend.setup();
    await backend.getHead('run-1');
    expect(logger.info).toHaveBeenCalledTimes(1);
    expect(logger.info).toHaveBeenCalledWith(expect.stringMatching(/^Migrated the SQLite database: /), {
      backend: 'sqlite',
      migrations: expect.arrayContaining([expect.any(String)]),
    });
    await backend.close();
  });
});
