export * from './messages';
export * from './workflow';
