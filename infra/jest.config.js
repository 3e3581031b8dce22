module.exports = {
  ...require('../jest.preset.js'),
  displayName: 'infra',
  rootDir: __dirname,
  testMatch: ['<rootDir>/**/*.spec.ts'],
  // The stack end-to-end test starts real processes; give it room.
  testTimeout: 240_000,
};
