/** Jest for mutation testing (`npm run mutate`): the suites that exercise the kernel, against one shared emulator. */
const base = require('./jest.config');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/kernel', '<rootDir>/test/tools', '<rootDir>/test/signer'],
  // Stryker re-runs jest in the same process for every mutant, so the emulator must outlive each run.
  globalSetup: '<rootDir>/localstack/jest/shared-emulator-setup.ts',
  globalTeardown: undefined,
};
