/**
 * The Platform port: how ranksafe starts, stops and kills the processes it runs. The embedded
 * adapter is LocalProcessPlatform (child processes on this machine); a Kubernetes adapter would
 * implement the same interface with pods.
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
}

export type ProcessState = 'running' | 'exited' | 'stopped' | 'killed';

export interface ProcessInfo {
  name: string;
  component: string;
  pid: number;
  state: ProcessState;
  startedAt: Date;
  exitCode?: number | null;
  signal?: NodeJS.Signals | null;
  logFile?: string;
}

export interface PlatformEventInfo {
  name: string;
  component: string;
  event: 'starting' | 'ready' | 'exited' | 'stopping' | 'stopped' | 'killed' | 'failed';
  detail: Record<string, unknown>;
}

export interface Platform {
  start(spec: ProcessSpec): Promise<ProcessInfo>;
  /** Graceful stop: SIGTERM, then SIGKILL after graceMs. */
  stop(name: string, graceMs?: number): Promise<ProcessInfo>;
  /** Abrupt kill (a drill's "replica crashed"). */
  kill(name: string, signal?: NodeJS.Signals): Promise<ProcessInfo>;
  list(): ProcessInfo[];
  get(name: string): ProcessInfo | undefined;
}
