/**
 * The Platform: how ranksafe starts, stops, kills and restarts the processes it runs.
 *
 * - `Platform` is the supervisor's own, in-process view (it knows command lines): the embedded
 *   adapter is LocalProcessPlatform (child processes on this machine).
 * - `ReplicaPlatform` is the port the cold path uses (drill-worker activities, ops): instances by
 *   name, async, remote-able. The supervisor serves it as ranksafe.v1.Platform over gRPC
 *   (platform-service.ts) and PlatformClient is its client; a Kubernetes adapter would implement
 *   the same interface with pods (see README "Architecture").
 */
export interface ProcessSpec {
  /** Unique instance name, e.g. "ranking-service-2". */
  name: string;
  /** What it is, e.g. "ranking-service" or "temporal". */
  component: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** host:port of its gRPC server, when it has one (reported by the Platform service). */
  address?: string;
}

export type ProcessState = 'running' | 'exited' | 'stopped' | 'killed';

/** One instance as the ReplicaPlatform port reports it. */
export interface ReplicaInfo {
  name: string;
  component: string;
  /** host:port of its gRPC server, when it has one. */
  address?: string;
  /** OS pid of the current (or last) process; 0 where the platform has none (k8s). */
  pid: number;
  state: ProcessState;
  startedAt: Date;
  /** Starts after the first one (restart, start of a stopped instance, restart policy). */
  restarts: number;
  exitCode?: number | null;
  signal?: string | null;
  /** When the restart policy will start it again, when one is scheduled. */
  nextRestartAt?: Date;
  /** Variables run over its declared env, set by a restart with `env` (absent when it runs as declared). */
  envOverrides?: Record<string, string>;
}

/** How a restart changes the instance's env (see RestartOptions). */
export interface EnvChange {
  /** Run the new process with these over its declared env (an empty value is set, empty); they replace earlier overrides and stay until reset. */
  env?: Record<string, string>;
  /** Drop every override: back to the declared env (env must be absent or empty). */
  resetEnv?: boolean;
}

export interface RestartOptions extends EnvChange {
  graceMs?: number;
}

/** Most env overrides one instance may carry. */
export const MAX_ENV_OVERRIDES = 64;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The env change, validated (PlatformError 'invalid_argument' naming the field); undefined = keep the current overrides. */
export function checkEnvChange(c: EnvChange): Record<string, string> | undefined {
  const env = c.env ?? {};
  const names = Object.keys(env);
  if (c.resetEnv && names.length) throw new PlatformError('invalid_argument', 'env: must be empty with reset_env', 'env');
  if (names.length > MAX_ENV_OVERRIDES) throw new PlatformError('invalid_argument', `env: at most ${MAX_ENV_OVERRIDES} variables`, 'env');
  const bad = names.find((n) => !ENV_NAME.test(n));
  if (bad !== undefined) throw new PlatformError('invalid_argument', `env: ${JSON.stringify(bad)} is not a variable name ([A-Za-z_][A-Za-z0-9_]*)`, 'env');
  if (c.resetEnv) return {};
  return names.length ? { ...env } : undefined;
}

export interface ProcessInfo extends ReplicaInfo {
  signal?: NodeJS.Signals | null;
  logFile?: string;
}

export type PlatformEventKind = 'starting' | 'ready' | 'exited' | 'stopping' | 'stopped' | 'killed' | 'failed';

export interface PlatformEventInfo {
  name: string;
  component: string;
  event: PlatformEventKind;
  detail: Record<string, unknown>;
}

/** A lifecycle event as stored (libs/db platform_events) and listed by ReplicaPlatform.events. */
export interface LifecycleEvent {
  at: Date;
  component: string;
  instance: string;
  event: PlatformEventKind;
  detail: Record<string, unknown>;
}

export interface EventQuery {
  instance?: string;
  /** Newest first, at most this many (default 50, at most 1000). */
  limit?: number;
  since?: Date;
}

export interface Platform {
  start(spec: ProcessSpec): Promise<ProcessInfo>;
  /** Graceful stop: SIGTERM, then SIGKILL after graceMs. */
  stop(name: string, graceMs?: number): Promise<ProcessInfo>;
  /** Abrupt kill (a drill's "replica crashed"); restartAfterMs > 0 starts it again that long after it exited. */
  kill(name: string, signal?: NodeJS.Signals, opts?: { restartAfterMs?: number }): Promise<ProcessInfo>;
  list(): ProcessInfo[];
  get(name: string): ProcessInfo | undefined;
}

/**
 * The port the drill-worker's activities use to act on replicas. Every method is idempotent
 * where it can be: start of a running instance returns it, stop of a stopped one returns it,
 * kill of one that is not running returns it. Unknown names reject with PlatformError
 * 'not_found', bad input with 'invalid_argument'.
 */
export interface ReplicaPlatform {
  /** Every instance (of one component, when given), in start order. */
  list(filter?: { component?: string }): Promise<ReplicaInfo[]>;
  get(name: string): Promise<ReplicaInfo>;
  /** Start a known instance that is not running (same command, env and port); running: returned as is. */
  start(name: string): Promise<ReplicaInfo>;
  /** Graceful stop (SIGTERM, SIGKILL after graceMs, default 10 s). The restart policy leaves it stopped. */
  stop(name: string, opts?: { graceMs?: number }): Promise<ReplicaInfo>;
  /** Signal it (default SIGKILL) and wait for it to exit: a crash; restartAfterMs > 0 starts it again that long after (what an orchestrator does for a crashed pod). */
  kill(name: string, signal?: string, opts?: { restartAfterMs?: number }): Promise<ReplicaInfo>;
  /**
   * Stop (graceMs) if running, then start again on the same name and port; with `env`, the new
   * process runs with those variables over its declared env and keeps them (start, restart and the
   * restart policy too: a changed pod spec) until a restart with `resetEnv`.
   */
  restart(name: string, opts?: RestartOptions): Promise<ReplicaInfo>;
  /** Lifecycle events, newest first. */
  events(query?: EventQuery): Promise<LifecycleEvent[]>;
}

export type PlatformErrorReason = 'not_found' | 'invalid_argument' | 'failed_precondition' | 'unavailable';

/** What a ReplicaPlatform rejects with; PlatformClient maps gRPC statuses back to these. */
export class PlatformError extends Error {
  constructor(
    readonly reason: PlatformErrorReason,
    message: string,
    /** The offending field for 'invalid_argument'. */
    readonly field?: string,
  ) {
    super(message);
    this.name = 'PlatformError';
  }
}

export const isPlatformError = (e: unknown, reason?: PlatformErrorReason): e is PlatformError =>
  e instanceof PlatformError && (reason === undefined || e.reason === reason);

/** Largest grace a caller may ask for (10 minutes). */
export const MAX_GRACE_MS = 600_000;
export const DEFAULT_GRACE_MS = 10_000;

/** Restart policy of the supervisor: `never` (default) or `on-failure` with exponential backoff. */
export type RestartPolicy = { kind: 'never' } | { kind: 'on-failure'; backoffMs: number; maxBackoffMs: number };
