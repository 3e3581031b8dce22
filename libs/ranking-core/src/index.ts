// Pure engines for ranking: no gRPC here. The ranking-service wires them to the network.
export * from './artifacts';
export * from './encoder';
export * from './session';
export * from './seqrec';
export * from './topk';
export * from './metrics';
export * from './batcher';
export * from './engine';
export * from './quality';
