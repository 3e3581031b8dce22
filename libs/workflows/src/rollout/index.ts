export * from './messages';
export * from './analysis';
export * from './workflow';
