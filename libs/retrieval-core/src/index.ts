// Pure retrieval engines: no gRPC here. The retrieval-service wires them to the network.
export * from './text';
export * from './bm25';
export * from './catalog';
export * from './vectors';
export * from './fusion';
export * from './catalog-index';
export * from './filters';
export * from './build';
export * from './synthetic';
export * from './sessions';
