/** Slow suites (fault injection, load): `npm run test:slow`. Same transform and emulator as `npm test`. */
const base = require('./jest.config.js');

module.exports = { ...base, roots: ['<rootDir>/test/slow'], testPathIgnorePatterns: ['/node_modules/'], testTimeout: 600000, maxWorkers: 1 };
