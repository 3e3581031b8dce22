module.exports = { ...require('../../jest.preset.js'), displayName: 'artifact-integrity', rootDir: __dirname };
