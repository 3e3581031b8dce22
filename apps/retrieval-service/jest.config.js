module.exports = { ...require('../../jest.preset.js'), displayName: 'retrieval-service', rootDir: __dirname };
