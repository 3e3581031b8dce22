export * from './search-attributes';
export * from './ids';
export * from './saga';
export * from './errors';
export * from './operation';
