// The walkthrough is tested as a user runs it: the built program in a child process.
module.exports = require('../../jest.preset.cjs')(__dirname, { collectCoverage: false, coverageThreshold: undefined, testTimeout: 60000 });
