export * from './messages';
export * from './analysis';
export * from './workflow';
export * from './verdict';
