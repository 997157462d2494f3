// Records each package's jest totals so `pnpm test` can print one closing line for the whole monorepo.
const { mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');

const RESULTS_DIR = path.join(__dirname, '..', '.test-results');

class ResultsReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    mkdirSync(RESULTS_DIR, { recursive: true });
    const name = path.relative(path.join(__dirname, '..'), this.rootDir).replace(/[\\/]/g, '__');
    const totals = { passed: results.numPassedTests, failed: results.numFailedTests, skipped: results.numPendingTests + results.numTodoTests };
    writeFileSync(path.join(RESULTS_DIR, `${name}.json`), JSON.stringify(totals) + '\n');
  }
}

module.exports = ResultsReporter;
