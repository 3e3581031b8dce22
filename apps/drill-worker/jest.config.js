module.exports = { ...require('../../jest.preset.js'), displayName: 'drill-worker', rootDir: __dirname };
