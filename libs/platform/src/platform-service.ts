import * as grpc from '@grpc/grpc-js';
import { InstanceState, PlatformService, type Instance, type PlatformEvent as PlatformEventMessage, type PlatformServer } from '@ranksafe/proto';
import {
  createLogger,
  GrpcError,
  loadConfig,
  serve,
  serviceEnvSchema,
  unary,
  type Logger,
  type RunningService,
  type ServiceRegistration,
} from '@ranksafe/serving-kit';
import { DEFAULT_GRACE_MS, MAX_GRACE_MS, PlatformError, type LifecycleEvent, type ProcessState, type ReplicaInfo, type ReplicaPlatform } from './platform';

export const PLATFORM_SERVICE_NAME = 'ranksafe.v1.Platform';

const STATE_TO_PROTO: Record<ProcessState, InstanceState> = {
  running: InstanceState.INSTANCE_STATE_RUNNING,
  exited: InstanceState.INSTANCE_STATE_EXITED,
  stopped: InstanceState.INSTANCE_STATE_STOPPED,
  killed: InstanceState.INSTANCE_STATE_KILLED,
};
export const STATE_FROM_PROTO = new Map<InstanceState, ProcessState>(Object.entries(STATE_TO_PROTO).map(([k, v]) => [v, k as ProcessState]));

export function instanceToProto(r: ReplicaInfo): Instance {
  return {
    name: r.name,
    component: r.component,
    address: r.address ?? '',
    pid: r.pid,
    state: STATE_TO_PROTO[r.state],
    startedAtUnixMs: r.startedAt.getTime(),
    restarts: Math.max(0, r.restarts),
    exitCode: r.exitCode ?? undefined,
    signal: r.signal ?? '',
    nextRestartAtUnixMs: r.nextRestartAt?.getTime() ?? 0,
    envOverrides: { ...(r.envOverrides ?? {}) },
  };
}

export function eventToProto(e: LifecycleEvent): PlatformEventMessage {
  return { atUnixMs: new Date(e.at).getTime(), component: e.component, instance: e.instance, event: e.event, detailJson: JSON.stringify(e.detail ?? {}) };
}

/** PlatformError → the gRPC status it stands for; anything else is left to the server wrapper (INTERNAL). */
function toGrpc(e: unknown): unknown {
  if (!(e instanceof PlatformError)) return e;
  const code = {
    not_found: grpc.status.NOT_FOUND,
    invalid_argument: grpc.status.INVALID_ARGUMENT,
    failed_precondition: grpc.status.FAILED_PRECONDITION,
    unavailable: grpc.status.UNAVAILABLE,
  }[e.reason];
  return new GrpcError(code, e.message, e.field ? { field: e.field } : {});
}

const mapped =
  <Req, Res>(fn: (req: Req) => Promise<Res>) =>
  (req: Req) =>
    fn(req).catch((e: unknown) => Promise.reject(toGrpc(e)));

function grace(ms: number): number {
  if (ms > MAX_GRACE_MS) throw new PlatformError('invalid_argument', `grace_ms: at most ${MAX_GRACE_MS}`, 'grace_ms');
  return ms === 0 ? DEFAULT_GRACE_MS : ms;
}

/** The ranksafe.v1.Platform service over any ReplicaPlatform; every method needs the admin token. */
export function platformServiceRegistration(platform: ReplicaPlatform, logger?: Logger): ServiceRegistration {
  const audit = (action: string, r: ReplicaInfo, extra: Record<string, unknown> = {}) => {
    logger?.info({ action, instance: r.name, pid: r.pid, state: r.state, ...extra }, 'platform action');
    return instanceToProto(r);
  };
  const implementation: PlatformServer = {
    listInstances: unary(mapped(async (req) => ({ instances: (await platform.list({ component: req.component || undefined })).map(instanceToProto) }))),
    getInstance: unary(mapped(async (req) => instanceToProto(await platform.get(req.name)))),
    start: unary(mapped(async (req) => audit('start', await platform.start(req.name)))),
    stop: unary(
      mapped(async (req) => {
        const graceMs = grace(req.graceMs);
        return audit('stop', await platform.stop(req.name, { graceMs }), { graceMs });
      }),
    ),
    kill: unary(
      mapped(async (req) =>
        audit('kill', await platform.kill(req.name, req.signal || 'SIGKILL', { restartAfterMs: req.restartAfterMs }), {
          signal: req.signal || 'SIGKILL',
          ...(req.restartAfterMs ? { restartAfterMs: req.restartAfterMs } : {}),
        }),
      ),
    ),
    restart: unary(
      mapped(async (req) => {
        const graceMs = grace(req.graceMs);
        const env = req.env ?? {};
        const names = Object.keys(env);
        return audit('restart', await platform.restart(req.name, { graceMs, env, resetEnv: req.resetEnv }), {
          graceMs,
          ...(names.length ? { env: names } : {}),
          ...(req.resetEnv ? { resetEnv: true } : {}),
        });
      }),
    ),
    listEvents: unary(
      mapped(async (req) => {
        if (req.limit > 1000) throw new PlatformError('invalid_argument', 'limit: at most 1000', 'limit');
        if (req.sinceUnixMs < 0) throw new PlatformError('invalid_argument', 'since_unix_ms: must not be negative', 'since_unix_ms');
        const events = await platform.events({
          instance: req.instance || undefined,
          limit: req.limit || 50,
          since: req.sinceUnixMs ? new Date(req.sinceUnixMs) : undefined,
        });
        return { events: events.map(eventToProto) };
      }),
    ),
  };
  return {
    definition: PlatformService as unknown as grpc.ServiceDefinition,
    name: PLATFORM_SERVICE_NAME,
    implementation: implementation as unknown as grpc.UntypedServiceImplementation,
    adminMethods: Object.keys(PlatformService),
  };
}

export interface ServePlatformOptions {
  platform: ReplicaPlatform;
  host: string;
  /** 0 = a free port. */
  port: number;
  /** Prometheus /metrics; 0 = a free port, -1 = none. */
  metricsPort: number;
  adminToken: string;
  logLevel?: string;
  /** Handle SIGTERM/SIGINT itself (default false: the supervisor owns its signals). */
  handleSignals?: boolean;
}

/**
 * Serve ranksafe.v1.Platform with serving-kit's bootstrap: grpc.health.v1, reflection, metrics,
 * admin-token checks, JSON logs.
 */
export async function servePlatform(o: ServePlatformOptions): Promise<RunningService> {
  const env = loadConfig('the platform service', serviceEnvSchema, {
    GRPC_HOST: o.host,
    GRPC_PORT: String(o.port),
    METRICS_PORT: String(o.metricsPort),
    LOG_LEVEL: o.logLevel ?? 'info',
    ADMIN_TOKEN: o.adminToken,
    SHUTDOWN_GRACE_MS: '2000',
    INSTANCE_ID: 'platform',
  });
  const logger = createLogger('platform', env.LOG_LEVEL, 'platform');
  const svc = await serve({
    component: 'platform',
    env,
    logger,
    handleSignals: o.handleSignals ?? false,
    services: [platformServiceRegistration(o.platform, logger)],
  });
  svc.setReady(true);
  return svc;
}
