export * from './errors';
export * from './store';
export * from './registry';
