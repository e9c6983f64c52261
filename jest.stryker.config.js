/** Jest for mutation testing (`npm run mutate`): the suites that exercise the kernel, against one shared emulator. */
const base = require('./jest.config.js');

/**
 * Load and cost tests prove throughput, not behaviour that smaller tests miss; each takes ~10 s and would run
 * again for every mutant of the ledger that survives. They still run in `npm test`.
 */
const LOAD_TESTS = ['verifying 100 000 entries costs', '8 concurrent writers'];

module.exports = {
  ...base,
  roots: ['<rootDir>/test/kernel', '<rootDir>/test/tools', '<rootDir>/test/signer', '<rootDir>/test/stores'],
  testNamePattern: `^(?!.*(?:${LOAD_TESTS.join('|')}))`,
  // Stryker re-runs jest in the same process for every mutant, so the emulator must outlive each run.
  globalSetup: '<rootDir>/test/setup/shared-emulator-setup.ts',
  globalTeardown: undefined,
};
