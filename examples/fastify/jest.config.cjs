// Examples are tested as a user would call them; coverage thresholds are for the packages.
module.exports = require('../../jest.preset.cjs')(__dirname, { collectCoverage: false, coverageThreshold: undefined });
