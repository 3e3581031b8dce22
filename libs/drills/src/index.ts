export * from './spec';
export * from './result';
export * from './catalog';
export * from './format';
export * from './score';
