// Open- and closed-loop load, outcomes by gRPC status, log-bucketed latency histograms: used by
// the benches (tools/bench), the integration tests and the drills alike. No gRPC client here: the
// caller passes the request function.
export * from './histogram';
export * from './load';
