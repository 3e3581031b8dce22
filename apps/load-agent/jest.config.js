module.exports = { ...require('../../jest.preset.js'), displayName: 'load-agent', rootDir: __dirname };
