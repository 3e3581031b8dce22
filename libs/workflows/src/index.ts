// Deterministic workflow code only: no I/O, no pg, no grpc. Activities are imported as types.
export * from './ping';
