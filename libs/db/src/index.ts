export * from './postgres';
export * from './migrate';
export * from './events';
export * from './operations';
export * from './drills';
export * from './drill-load';
