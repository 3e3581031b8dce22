module.exports = { ...require('../../jest.preset.js'), displayName: 'ranking-core', rootDir: __dirname };
