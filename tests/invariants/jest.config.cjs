// Coverage belongs to the packages' own suites; this one proves behaviour across backends.
module.exports = require('../../jest.preset.cjs')(__dirname, { collectCoverage: false, coverageThreshold: undefined });
