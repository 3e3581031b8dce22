export * from './spec';
export * from './result';
export * from './catalog';
