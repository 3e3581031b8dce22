module.exports = { ...require('../../jest.preset.js'), displayName: 'ranking-service', rootDir: __dirname };
