module.exports = { ...require('../../jest.preset.js'), displayName: 'serving-kit', rootDir: __dirname };
