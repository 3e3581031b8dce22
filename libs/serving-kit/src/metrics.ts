import * as http from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AdaptiveLimiter } from './admission';

/** Prometheus metrics of one process. Each service adds its own on top of the RPC metrics. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly rpcTotal: Counter<'method' | 'code'>;
  readonly rpcSeconds: Histogram<'method'>;
  readonly inflight: Gauge<'method'>;
  readonly faultsInjected: Counter<'kind'>;
  readonly admissionShed: Counter<'method' | 'reason'>;

  constructor(service: string, instance?: string) {
    this.registry.setDefaultLabels({ service, ...(instance ? { instance } : {}) });
    collectDefaultMetrics({ register: this.registry });
    this.rpcTotal = new Counter({
      name: 'ranksafe_rpc_total',
      help: 'gRPC calls handled, by method and status code',
      labelNames: ['method', 'code'],
      registers: [this.registry],
    });
    this.rpcSeconds = new Histogram({
      name: 'ranksafe_rpc_duration_seconds',
      help: 'gRPC call latency by method',
      labelNames: ['method'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [this.registry],
    });
    this.inflight = new Gauge({
      name: 'ranksafe_rpc_inflight',
      help: 'gRPC calls in progress',
      labelNames: ['method'],
      registers: [this.registry],
    });
    this.admissionShed = new Counter({
      name: 'ranksafe_admission_shed_total',
      help: 'Calls refused by admission control (RESOURCE_EXHAUSTED at once), by method and reason (queue_full: over the limit and its short queue; deadline: could not finish in time)',
      labelNames: ['method', 'reason'],
      registers: [this.registry],
    });
    this.faultsInjected = new Counter({
      name: 'ranksafe_faults_applied_total',
      help: 'Calls affected by an injected fault',
      labelNames: ['kind'],
      registers: [this.registry],
    });
  }

  /** Export the admission limiter's state: its limit, calls in flight and queued, recent latency. */
  watchAdmission(limiter: AdaptiveLimiter): void {
    new Gauge({
      name: 'ranksafe_admission',
      help: 'Admission control of the data-plane methods: the adaptive concurrency limit, calls in flight and queued, and the recent latency (ms) waits are predicted with',
      labelNames: ['stat'],
      registers: [this.registry],
      collect() {
        const s = limiter.stats();
        this.set({ stat: 'limit' }, s.limit);
        this.set({ stat: 'in_flight' }, s.inFlight);
        this.set({ stat: 'queued' }, s.queued);
        this.set({ stat: 'latency_ms' }, s.latencyMs);
      },
    });
  }
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serve /metrics (Prometheus text) and /healthz (200 when healthy, else 503) over HTTP. */
export async function startMetricsServer(metrics: ServiceMetrics, host: string, port: number, healthy: () => boolean): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.url === '/metrics') {
      metrics.registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(body);
        })
        .catch(() => {
          res.writeHead(500);
          res.end();
        });
    } else if (req.url === '/healthz') {
      const ok = healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'SERVING\n' : 'NOT_SERVING\n');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
