// Shared jest settings: swc transform, workspace packages resolved to their sources, 90% line coverage.
const path = require('node:path');

module.exports = function preset(packageDir, overrides = {}) {
  return {
    rootDir: packageDir,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }] },
    moduleNameMapper: {
      '^@savepoint/(core|conformance|backend-[a-z]+|runtime-bridge)$': path.join(__dirname, 'packages/$1/src/index.ts'),
      '^@savepoint/test-servers$': path.join(__dirname, 'tests/servers/index.ts'),
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    collectCoverage: true,
    collectCoverageFrom: ['<rootDir>/src/**/*.ts'],
    coverageReporters: ['text-summary'],
    coverageThreshold: { global: { lines: 90 } },
    testTimeout: 30000,
    // A handle a test leaves open (a socket, a timer) must never keep CI waiting forever after the results are
    // in; run `jest --detectOpenHandles` locally to find one.
    forceExit: true,
    reporters: ['default', path.join(__dirname, 'scripts/jest-results-reporter.cjs')],
    ...overrides,
  };
};
