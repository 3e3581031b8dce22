export * from './errors';
export * from './store';
export * from './registry';
export * from './bundle';
export * from './snapshots';
