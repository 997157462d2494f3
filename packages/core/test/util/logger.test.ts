import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { consoleLogger, silentLogger } from '../../src/index.js';

describe('loggers', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('consoleLogger prints warnings and errors with their fields, and keeps debug and info silent', () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    const error = jest.spyOn(console, 'error').mockImplementation(() => {});
    const info = jest.spyOn(console, 'info').mockImplementation(() => {});
    const debug = jest.spyOn(console, 'debug').mockImplementation(() => {});
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    consoleLogger.warn('checkpoint write failed', { runId: 'r1' });
    consoleLogger.error('run failed');
    consoleLogger.info('started');
    consoleLogger.debug('details');
    expect(warn).toHaveBeenCalledWith('[savepoint] checkpoint write failed', { runId: 'r1' });
    expect(error).toHaveBeenCalledWith('[savepoint] run failed');
    expect(info).not.toHaveBeenCalled();
    expect(debug).not.toHaveBeenCalled();
    expect(log).not.toHaveBeenCalled();
  });

  it('silentLogger prints nothing', () => {
    const spies = (['warn', 'error', 'info', 'debug', 'log'] as const).map((m) => jest.spyOn(console, m).mockImplementation(() => {}));
    for (const level of ['debug', 'info', 'warn', 'error'] as const) silentLogger[level]('x', { a: 1 });
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });
});
