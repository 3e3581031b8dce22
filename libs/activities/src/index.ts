// Side effects live here, one file per concern. Workflows import these as types only.
export * from './ping';
