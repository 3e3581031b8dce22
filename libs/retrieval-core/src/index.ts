// Pure retrieval engines: no gRPC here. The retrieval-service wires them to the network.
export * from './text';
export * from './bm25';
