module.exports = { ...require('../../jest.preset.js'), displayName: 'retrieval-core', rootDir: __dirname };
