module.exports = { ...require('../../jest.preset.js'), displayName: 'drills', rootDir: __dirname };
