// Coverage belongs to the packages' own suites; this one proves behaviour across real processes.
module.exports = require('../../jest.preset.cjs')(__dirname, { collectCoverage: false, coverageThreshold: undefined, testTimeout: 90_000 });
