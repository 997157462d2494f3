// Both programs run as real processes from dist/ (the test script builds first); coverage is for the packages.
module.exports = require('../../jest.preset.cjs')(__dirname, { collectCoverage: false, coverageThreshold: undefined, testTimeout: 60000 });
