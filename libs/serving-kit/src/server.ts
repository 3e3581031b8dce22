import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath, type ServingStatus } from 'grpc-health-check';
import { AdminService, HealthOverride, PROTO_FILES, PROTO_ROOT, type AdminServer } from '@ranksafe/proto';
import { AdaptiveLimiter, ShedError, type Outcome } from './admission';
import { checkAdminToken } from './auth';
import { startupError, type ServiceEnv } from './config';
import { deadlineExceeded, invalidArgument, resourceExhausted, toServiceError } from './errors';
import { FaultInjector } from './faults';
import { createLogger, type Logger } from './logger';
import { ServiceMetrics, startMetricsServer, type MetricsServer } from './metrics';
import { watchSupervisor } from './supervision';

/** One gRPC service to expose: its generated definition, its handlers, which methods are admin. */
export interface ServiceRegistration<S extends grpc.UntypedServiceImplementation = grpc.UntypedServiceImplementation> {
  definition: grpc.ServiceDefinition;
  /** Fully qualified name used for grpc.health.v1, e.g. "ranksafe.v1.Search". */
  name: string;
  implementation: S;
  /** Method names (as in the definition, e.g. "loadModel") that require the admin token. */
  adminMethods?: string[];
  /** Data-plane method names that pass admission control (one limiter per process, ADMISSION_*). */
  admittedMethods?: string[];
}

export interface ServeOptions {
  /** Component name for logs and metrics: "gateway", "ranking-service" ... */
  component: string;
  env: ServiceEnv;
  services: ServiceRegistration[];
  version?: string;
  logger?: Logger;
  /** Extra work to do on shutdown after the server stopped taking calls (close pools ...). */
  onShutdown?: () => Promise<void>;
  /** Install SIGTERM/SIGINT handlers that drain and exit (default true). */
  handleSignals?: boolean;
  /** The process's metrics, when the service registered its own on it before serving. */
  metrics?: ServiceMetrics;
}

export interface RunningService {
  component: string;
  port: number;
  address: string;
  metricsPort: number | undefined;
  logger: Logger;
  metrics: ServiceMetrics;
  faults: FaultInjector;
  /** The admission limiter of the data-plane methods (undefined with ADMISSION=off or none admitted). */
  admission: AdaptiveLimiter | undefined;
  /** Set whether this process is ready; the Admin health override wins over it. */
  setReady(ready: boolean): void;
  isServing(): boolean;
  /** Stop taking calls, wait up to SHUTDOWN_GRACE_MS for in-flight ones, then close. */
  shutdown(reason?: string): Promise<void>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- grpc-js passes all four call kinds (unary, client/server/bidi stream) through one untyped handler slot
type AnyHandler = (call: any, callback?: any) => void;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The one way to start a ranksafe gRPC server: health (grpc.health.v1), reflection, the Admin
 * service (fault injection, health override), admin-token checks, deadlines, metrics, JSON logs
 * and a graceful drain on SIGTERM.
 */
export async function serve(opts: ServeOptions): Promise<RunningService> {
  const { env, component } = opts;
  const instance = env.INSTANCE_ID ?? `${component}-${process.pid}`;
  const logger = opts.logger ?? createLogger(component, env.LOG_LEVEL, instance);
  const metrics = opts.metrics ?? new ServiceMetrics(component, instance);
  const faults = new FaultInjector();
  const startedAt = Date.now();
  const admission =
    env.ADMISSION === 'on' && opts.services.some((s) => s.admittedMethods?.length)
      ? new AdaptiveLimiter({
          initialLimit: Math.min(Math.max(env.ADMISSION_INITIAL_LIMIT, env.ADMISSION_MIN_LIMIT), env.ADMISSION_MAX_LIMIT),
          minLimit: Math.min(env.ADMISSION_MIN_LIMIT, env.ADMISSION_MAX_LIMIT),
          maxLimit: env.ADMISSION_MAX_LIMIT,
          targetMs: env.ADMISSION_TARGET_MS,
          maxQueueMs: env.ADMISSION_MAX_QUEUE_MS,
        })
      : undefined;
  if (admission) metrics.watchAdmission(admission);

  let ready = false;
  let override = HealthOverride.HEALTH_OVERRIDE_NONE;
  let draining = false;
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  const serviceNames = opts.services.map((s) => s.name);
  const isServing = () => !draining && (override === HealthOverride.HEALTH_OVERRIDE_SERVING || (override === HealthOverride.HEALTH_OVERRIDE_NONE && ready));
  const publishHealth = () => {
    const st: ServingStatus = isServing() ? 'SERVING' : 'NOT_SERVING';
    for (const name of ['', ...serviceNames]) health.setStatus(name, st);
  };
  publishHealth();

  const server = new grpc.Server({
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
  });

  const admin: AdminServer = {
    injectFault: (call, cb) => {
      try {
        const f = faults.inject(call.request.spec);
        logger.warn({ fault: f }, 'fault injected');
        cb(null, f);
      } catch (e) {
        cb(toServiceError(e) as grpc.ServiceError);
      }
    },
    clearFaults: (call, cb) => {
      const cleared = faults.clear(call.request.id || undefined);
      logger.info({ cleared, id: call.request.id }, 'faults cleared');
      cb(null, { cleared });
    },
    listFaults: (_call, cb) => cb(null, { faults: faults.list() }),
    setHealthOverride: (call, cb) => {
      const o = call.request.override;
      if (!(o in HealthOverride) || o < 0) {
        cb(toServiceError(invalidArgument('override', `unknown value ${o}`)) as grpc.ServiceError);
        return;
      }
      override = o;
      publishHealth();
      logger.warn({ override: HealthOverride[o] }, 'health override set');
      cb(null, { status: isServing() ? 'SERVING' : 'NOT_SERVING' });
    },
    describe: (_call, cb) =>
      cb(null, {
        service: component,
        instance,
        version: opts.version ?? process.env.npm_package_version ?? 'dev',
        startedAtUnixMs: startedAt,
        pid: process.pid,
      }),
  };

  const registrations: ServiceRegistration[] = [
    ...opts.services,
    {
      definition: AdminService as unknown as grpc.ServiceDefinition,
      name: 'ranksafe.v1.Admin',
      implementation: admin as unknown as grpc.UntypedServiceImplementation,
      adminMethods: Object.keys(AdminService),
    },
  ];

  for (const reg of registrations) {
    const wrapped: grpc.UntypedServiceImplementation = {};
    const adminSet = new Set(reg.adminMethods ?? []);
    const admittedSet = new Set(reg.admittedMethods ?? []);
    for (const [key, def] of Object.entries(reg.definition)) {
      const handler = reg.implementation[key] as AnyHandler | undefined;
      if (!handler) throw new Error(`${reg.name}: no handler for ${key}`);
      wrapped[key] = wrapHandler({
        path: def.path,
        handler,
        streamingResponse: def.responseStream,
        streamingRequest: def.requestStream,
        admin: adminSet.has(key),
        admission: admittedSet.has(key) ? admission : undefined,
        adminToken: env.ADMIN_TOKEN,
        faults,
        metrics,
        logger,
      });
    }
    server.addService(reg.definition, wrapped);
  }

  health.addToServer(server);
  const reflectionPkg = protoLoader.loadSync([...PROTO_FILES, healthProtoPath], {
    includeDirs: [PROTO_ROOT],
    keepCase: true,
  });
  // Reflection lists what this server serves (its services, Admin, health), not every service of the protos.
  new ReflectionService(reflectionPkg, { services: [...registrations.map((r) => r.name), 'grpc.health.v1.Health'] }).addToServer(server);

  // grpc-js logs its own line for a failed bind; ours below says what to do, so mute it meanwhile.
  grpc.setLogVerbosity(grpc.logVerbosity.NONE);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${env.GRPC_HOST}:${env.GRPC_PORT}`, grpc.ServerCredentials.createInsecure(), (err, p) => {
      grpc.setLogVerbosity(grpc.logVerbosity.ERROR);
      if (err) {
        const inUse = /EADDRINUSE|address already in use|No address added/i.test(err.message);
        reject(
          startupError(
            inUse
              ? `${component} cannot listen on ${env.GRPC_HOST}:${env.GRPC_PORT}: the port is in use; stop the other process or set GRPC_PORT to a free port`
              : `${component} cannot listen on ${env.GRPC_HOST}:${env.GRPC_PORT}: ${err.message}`,
          ),
        );
      } else resolve(p);
    }),
  );

  let metricsServer: MetricsServer | undefined;
  if (env.METRICS_PORT >= 0) {
    try {
      metricsServer = await startMetricsServer(metrics, env.GRPC_HOST, env.METRICS_PORT, isServing);
    } catch (e) {
      server.forceShutdown();
      const code = (e as NodeJS.ErrnoException).code;
      throw startupError(
        code === 'EADDRINUSE'
          ? `${component} cannot serve metrics on ${env.GRPC_HOST}:${env.METRICS_PORT}: the port is in use; stop the other process or set METRICS_PORT to a free port`
          : `${component} cannot serve metrics: ${(e as Error).message}`,
      );
    }
  }

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown') => {
    shuttingDown ??= (async () => {
      draining = true;
      publishHealth();
      logger.info({ reason, graceMs: env.SHUTDOWN_GRACE_MS }, 'draining');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          logger.warn('grace period over; cancelling in-flight calls');
          server.forceShutdown();
          resolve();
        }, env.SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      await metricsServer?.close();
      await opts.onShutdown?.();
      logger.info('stopped');
    })();
    return shuttingDown;
  };

  if (opts.handleSignals !== false) {
    const onSignal = (sig: NodeJS.Signals) => {
      shutdown(sig).then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    watchSupervisor(() => onSignal('SIGTERM'));
  }

  const address = `${env.GRPC_HOST}:${port}`;
  logger.info({ address, metricsPort: metricsServer?.port, services: serviceNames }, 'listening');
  return {
    component,
    port,
    address,
    metricsPort: metricsServer?.port,
    logger,
    metrics,
    faults,
    admission,
    setReady(r: boolean) {
      ready = r;
      publishHealth();
    },
    isServing,
    shutdown,
  };
}

interface WrapArgs {
  path: string;
  handler: AnyHandler;
  streamingResponse: boolean;
  streamingRequest: boolean;
  admin: boolean;
  admission: AdaptiveLimiter | undefined;
  adminToken: string | undefined;
  faults: FaultInjector;
  metrics: ServiceMetrics;
  logger: Logger;
}

/** How a call's status counts for the admission limit: refused or timed out = overload. */
function outcomeOf(code: grpc.status): Outcome {
  if (code === grpc.status.OK) return 'ok';
  if (code === grpc.status.RESOURCE_EXHAUSTED || code === grpc.status.DEADLINE_EXCEEDED) return 'overload';
  return 'error';
}

/** Auth, fault injection, deadline check, admission, metrics and error mapping around one handler. */
function wrapHandler(a: WrapArgs): AnyHandler {
  const unaryResponse = !a.streamingResponse;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see AnyHandler
  return (call: any, callback?: any) => {
    const started = process.hrtime.bigint();
    a.metrics.inflight.inc({ method: a.path });
    let finished = false;
    let onFinish: (code: grpc.status) => void = () => undefined;
    const finish = (code: grpc.status) => {
      if (finished) return;
      finished = true;
      onFinish(code);
      a.metrics.inflight.dec({ method: a.path });
      a.metrics.rpcTotal.inc({ method: a.path, code: grpc.status[code] ?? String(code) });
      a.metrics.rpcSeconds.observe({ method: a.path }, Number(process.hrtime.bigint() - started) / 1e9);
      if (code !== grpc.status.OK) a.logger.debug({ method: a.path, code: grpc.status[code] }, 'rpc failed');
    };
    const fail = (err: unknown) => {
      const se = toServiceError(err);
      if (se.code === grpc.status.INTERNAL) a.logger.error({ method: a.path, err }, 'handler error');
      finish(se.code);
      if (unaryResponse) callback(se);
      else call.emit('error', Object.assign(new Error(se.details ?? 'error'), se));
    };

    if (a.admin) {
      const denied = checkAdminToken(a.adminToken, call.metadata);
      if (denied) {
        a.logger.warn({ method: a.path, code: grpc.status[denied.code], peer: call.getPeer?.() }, 'admin call denied');
        return fail(denied);
      }
    }

    const run = () => {
      const deadline = call.getDeadline?.();
      const at = deadline instanceof Date ? deadline.getTime() : typeof deadline === 'number' ? deadline : Infinity;
      const remainingMs = at - Date.now();
      if (remainingMs <= 0) return fail(deadlineExceeded('deadline passed before the call was handled'));
      if (!a.admission) return handle();
      a.admission.acquire(remainingMs).then(
        (permit) => {
          onFinish = (code) => permit.release(outcomeOf(code));
          if (call.cancelled) return finish(grpc.status.CANCELLED);
          handle();
        },
        (e: unknown) => {
          if (!(e instanceof ShedError)) return fail(e);
          a.metrics.admissionShed.inc({ method: a.path, reason: e.reason });
          fail(resourceExhausted(e.message));
        },
      );
    };
    const handle = () => {
      if (a.streamingResponse) {
        // A stream ends with 'error' (a status) or 'finish' (OK); count whichever comes first.
        call.once('error', (e: Partial<grpc.ServiceError>) => finish(typeof e?.code === 'number' ? e.code : grpc.status.UNKNOWN));
        call.once('finish', () => finish(grpc.status.OK));
      }
      try {
        if (unaryResponse) {
          a.handler(call, (err: unknown, value: unknown, trailer?: grpc.Metadata, flags?: number) => {
            if (err) return fail(err);
            finish(grpc.status.OK);
            callback(null, value, trailer, flags);
          });
        } else {
          a.handler(call);
        }
      } catch (err) {
        fail(err);
      }
    };

    const effect = a.admin ? { kind: 'none' as const } : a.faults.effectFor(a.path);
    switch (effect.kind) {
      case 'none':
        return run();
      case 'latency':
        a.metrics.faultsInjected.inc({ kind: 'latency' });
        void sleep(effect.ms).then(() => (call.cancelled ? finish(grpc.status.CANCELLED) : run()));
        return;
      case 'error':
        a.metrics.faultsInjected.inc({ kind: 'error' });
        return fail(effect.error);
      case 'hang':
        a.metrics.faultsInjected.inc({ kind: 'hang' });
        call.once?.('cancelled', () => finish(grpc.status.CANCELLED));
        return;
    }
  };
}
