import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureDir } from './paths';
import {
  checkEnvChange,
  DEFAULT_GRACE_MS,
  MAX_GRACE_MS,
  PlatformError,
  type Platform,
  type PlatformEventInfo,
  type ProcessInfo,
  type ProcessSpec,
  type RestartPolicy,
  type EnvChange,
} from './platform';

interface PidFile {
  pid: number;
  component: string;
  command: string;
  args: string[];
  startedAt: string;
}

interface Managed {
  spec: ProcessSpec;
  info: ProcessInfo;
  child?: ChildProcess;
  exited: Promise<void>;
  /** What the platform asked of the current process: nothing (an exit is a crash), a stop, a kill. */
  intent: 'none' | 'stop' | 'kill';
  /** Consecutive policy restarts (reset once a process outlives the largest backoff). */
  failures: number;
  restartTimer?: NodeJS.Timeout;
  /** Backoff of the scheduled restart. */
  restartDelayMs?: number;
  /** Variables over spec.env, set by a restart with env, kept until a restart with resetEnv (or a new spec). */
  overrides: Record<string, string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Is `pid` a live process? A zombie (exited, not yet reaped by its parent) counts as dead. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no procfs: trust kill(0)
  }
}

function cmdlineOf(pid: number): string[] | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/** Signal a whole process group (children are started as group leaders), falling back to the pid. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Runs each process in its own process group, logs its output to <logDir>/<name>.log and keeps a
 * pid file in <runDir>, so that a later start can reap what an unclean stop (kill -9) left behind.
 * It remembers every spec it started or was given by register() (an on-demand instance), so an
 * instance can be started again, restarted (same name, command, env and so the same port) and,
 * with the `on-failure` policy, brought back after a crash or a kill with exponential backoff.
 * Operations on one instance run one at a time.
 */
export class LocalProcessPlatform implements Platform {
  private procs = new Map<string, Managed>();
  private queues = new Map<string, Promise<unknown>>();
  private closing = false;
  private readonly policy: RestartPolicy;

  constructor(
    private readonly runDir: string,
    private readonly logDir: string,
    private readonly onEvent: (e: PlatformEventInfo) => void = () => undefined,
    opts: { restartPolicy?: RestartPolicy } = {},
  ) {
    ensureDir(runDir);
    ensureDir(logDir);
    this.policy = opts.restartPolicy ?? { kind: 'never' };
  }

  /**
   * Kill processes recorded in pid files that still run the same command line: leftovers of a
   * supervisor that died without cleaning up. Returns what was reaped.
   */
  static async reapStale(runDir: string, graceMs = 5000): Promise<string[]> {
    if (!fs.existsSync(runDir)) return [];
    const reaped: string[] = [];
    for (const f of fs.readdirSync(runDir).filter((n) => n.endsWith('.pid'))) {
      const file = path.join(runDir, f);
      let rec: PidFile;
      try {
        rec = JSON.parse(fs.readFileSync(file, 'utf8')) as PidFile;
      } catch {
        fs.rmSync(file, { force: true });
        continue;
      }
      const cmd = cmdlineOf(rec.pid);
      const same = cmd !== undefined && cmd[0] !== undefined && path.basename(cmd[0]) === path.basename(rec.command) && rec.args.every((a) => cmd.includes(a));
      if (same && isAlive(rec.pid)) {
        signalGroup(rec.pid, 'SIGTERM');
        const until = Date.now() + graceMs;
        while (isAlive(rec.pid) && Date.now() < until) await sleep(100);
        if (isAlive(rec.pid)) signalGroup(rec.pid, 'SIGKILL');
        reaped.push(`${f.replace(/\.pid$/, '')} (pid ${rec.pid})`);
      }
      fs.rmSync(file, { force: true });
    }
    return reaped;
  }

  /** Start a new instance (a name not running yet; a stopped or exited one gets the new spec). */
  async start(spec: ProcessSpec): Promise<ProcessInfo> {
    return this.serial(spec.name, async () => {
      const existing = this.procs.get(spec.name);
      if (existing && existing.info.state === 'running') throw new Error(`${spec.name} is already running (pid ${existing.info.pid})`);
      if (existing) {
        existing.spec = spec;
        existing.overrides = {};
        return this.spawnProcess(existing, 'start');
      }
      const m: Managed = {
        spec,
        info: { name: spec.name, component: spec.component, address: spec.address, pid: 0, state: 'exited', startedAt: new Date(), restarts: -1 },
        exited: Promise.resolve(),
        intent: 'none',
        failures: 0,
        overrides: {},
      };
      this.procs.set(spec.name, m);
      try {
        return await this.spawnProcess(m, 'start');
      } catch (e) {
        this.procs.delete(spec.name);
        throw e;
      }
    });
  }

  /**
   * Remember an instance without starting it (an on-demand one, e.g. the drills' load agent): it
   * is listed as 'stopped' and Start, Stop, Kill and Restart work on it by name. Registering a known
   * instance that is not running gives it the new spec; a running one is refused.
   */
  async register(spec: ProcessSpec): Promise<ProcessInfo> {
    return this.serial(spec.name, async () => {
      const existing = this.procs.get(spec.name);
      if (existing && existing.info.state === 'running') throw new Error(`${spec.name} is already running (pid ${existing.info.pid})`);
      if (existing) {
        existing.spec = spec;
        existing.overrides = {};
        existing.info = { ...existing.info, component: spec.component, address: spec.address, envOverrides: undefined };
        return snapshot(existing);
      }
      const m: Managed = {
        spec,
        info: { name: spec.name, component: spec.component, address: spec.address, pid: 0, state: 'stopped', startedAt: new Date(), restarts: -1 },
        exited: Promise.resolve(),
        intent: 'none',
        failures: 0,
        overrides: {},
      };
      this.procs.set(spec.name, m);
      return snapshot(m);
    });
  }

  /** Start a known instance again with its spec; a running one is returned as it is. */
  async startKnown(name: string): Promise<ProcessInfo> {
    return this.serial(name, async () => {
      const m = this.mustGet(name);
      if (m.info.state === 'running') return snapshot(m);
      return this.spawnProcess(m, 'start');
    });
  }

  /**
   * Stop (gracefully) if running, then start again on the same name, command and port; `env`
   * replaces the instance's overrides (kept by later starts and restarts), `resetEnv` drops them.
   */
  async restart(name: string, graceMs = DEFAULT_GRACE_MS, change: EnvChange = {}): Promise<ProcessInfo> {
    checkGrace(graceMs);
    const overrides = checkEnvChange(change);
    return this.serial(name, async () => {
      const m = this.mustGet(name);
      if (m.info.state === 'running') await this.stopNow(m, graceMs);
      if (overrides) m.overrides = overrides;
      return this.spawnProcess(m, 'restart');
    });
  }

  async stop(name: string, graceMs = DEFAULT_GRACE_MS): Promise<ProcessInfo> {
    checkGrace(graceMs);
    return this.serial(name, async () => {
      const m = this.mustGet(name);
      this.cancelRestart(m);
      if (m.info.state === 'running') await this.stopNow(m, graceMs);
      return snapshot(m);
    });
  }

  /** Signal it (a crash) and wait for it to exit; with `restartAfterMs`, start it again that long after (an orchestrator's restart). */
  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL', opts: { restartAfterMs?: number } = {}): Promise<ProcessInfo> {
    if (!isSignal(signal)) throw new PlatformError('invalid_argument', `signal: unknown signal ${JSON.stringify(signal)}`, 'signal');
    const restartAfterMs = opts.restartAfterMs ?? 0;
    if (!Number.isInteger(restartAfterMs) || restartAfterMs < 0 || restartAfterMs > MAX_GRACE_MS)
      throw new PlatformError('invalid_argument', `restart_after_ms: must be an integer in 0..${MAX_GRACE_MS}`, 'restart_after_ms');
    return this.serial(name, async () => {
      const m = this.mustGet(name);
      if (m.info.state !== 'running') return snapshot(m);
      m.intent = 'kill';
      m.info.state = 'killed';
      signalGroup(m.info.pid, signal);
      await m.exited;
      if (restartAfterMs > 0) this.startAfter(m, restartAfterMs);
      const restartInMs = m.info.nextRestartAt ? m.restartDelayMs : undefined;
      this.onEvent({
        name,
        component: m.info.component,
        event: 'killed',
        detail: { signal, pid: m.info.pid, ...(restartInMs === undefined ? {} : { restartInMs }) },
      });
      return snapshot(m);
    });
  }

  /** Stop every running process, the last started first; no restart policy from here on. */
  async stopAll(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    this.closing = true;
    for (const m of this.procs.values()) this.cancelRestart(m);
    for (const name of [...this.procs.keys()].reverse()) await this.stop(name, graceMs);
  }

  list(): ProcessInfo[] {
    return [...this.procs.values()].map(snapshot);
  }

  get(name: string): ProcessInfo | undefined {
    const m = this.procs.get(name);
    return m && snapshot(m);
  }

  /** Resolves when the current process of `name` exits (for waiting on a crash). */
  exited(name: string): Promise<void> {
    return this.mustGet(name).exited;
  }

  // --- internals -------------------------------------------------------------------------

  /** Run `fn` after every earlier operation on `name` has settled. */
  private serial<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(name) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(name, settled);
    void settled.then(() => {
      if (this.queues.get(name) === settled) this.queues.delete(name);
    });
    return next;
  }

  private async spawnProcess(m: Managed, reason: 'start' | 'restart' | 'policy'): Promise<ProcessInfo> {
    if (this.closing) throw new PlatformError('unavailable', 'the platform is shutting down');
    this.cancelRestart(m);
    const spec = m.spec;
    const logFile = path.join(this.logDir, `${spec.name}.log`);
    const out = fs.openSync(logFile, 'a');
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env, ...m.overrides },
      stdio: ['ignore', out, out],
      detached: true,
    });
    fs.closeSync(out);
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!));
      child.once('error', reject);
    });
    const restarts = m.info.restarts + 1;
    const info: ProcessInfo = {
      name: spec.name,
      component: spec.component,
      address: spec.address,
      pid,
      state: 'running',
      startedAt: new Date(),
      restarts,
      logFile,
      ...(Object.keys(m.overrides).length ? { envOverrides: { ...m.overrides } } : {}),
    };
    const pidFile = path.join(this.runDir, `${spec.name}.pid`);
    const rec: PidFile = { pid, component: spec.component, command: spec.command, args: spec.args, startedAt: info.startedAt.toISOString() };
    fs.writeFileSync(pidFile, JSON.stringify(rec));
    m.info = info;
    m.child = child;
    m.intent = 'none';
    m.exited = new Promise<void>((resolve) =>
      child.once('exit', (code, signal) => {
        info.exitCode = code;
        info.signal = signal;
        fs.rmSync(pidFile, { force: true });
        // Reap anything the process left in its group (e.g. postgres under its launcher).
        signalGroup(pid, 'SIGKILL');
        if (m.info !== info) return resolve(); // an older process of this name
        const failed = m.intent === 'kill' || (m.intent === 'none' && (code !== 0 || signal !== null));
        const restartInMs = failed ? this.scheduleRestart(m, Date.now() - info.startedAt.getTime()) : undefined;
        if (m.intent === 'none' && info.state === 'running') {
          info.state = 'exited';
          this.onEvent({
            name: spec.name,
            component: spec.component,
            event: 'exited',
            detail: { code, signal, ...(restartInMs === undefined ? {} : { restartInMs }) },
          });
        }
        resolve();
      }),
    );
    const detail: Record<string, unknown> = { pid, command: spec.command, args: spec.args };
    if (restarts > 0) Object.assign(detail, { restarts, reason });
    if (info.envOverrides) detail['envOverrides'] = info.envOverrides;
    this.onEvent({ name: spec.name, component: spec.component, event: 'starting', detail });
    return snapshot(m);
  }

  private async stopNow(m: Managed, graceMs: number): Promise<void> {
    const { name, component, pid } = m.info;
    m.intent = 'stop';
    this.onEvent({ name, component, event: 'stopping', detail: { graceMs, pid } });
    signalGroup(pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([m.exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs)))]);
    clearTimeout(timer);
    if (timedOut) {
      signalGroup(pid, 'SIGKILL');
      await m.exited;
    }
    m.info.state = 'stopped';
    this.onEvent({ name, component, event: 'stopped', detail: { code: m.info.exitCode, signal: m.info.signal, forced: timedOut } });
  }

  /** With the on-failure policy, start `m` again after its backoff; returns the delay (ms) when scheduled. */
  private scheduleRestart(m: Managed, ranForMs: number): number | undefined {
    if (this.policy.kind !== 'on-failure' || this.closing) return undefined;
    const { backoffMs, maxBackoffMs } = this.policy;
    if (ranForMs >= maxBackoffMs) m.failures = 0;
    const delay = Math.min(backoffMs * 2 ** m.failures, maxBackoffMs);
    m.failures++;
    return this.startAfter(m, delay);
  }

  /** Start `m` again after `delay` ms, unless someone starts, stops or restarts it meanwhile. */
  private startAfter(m: Managed, delay: number): number | undefined {
    if (this.closing) return undefined;
    this.cancelRestart(m);
    m.info.nextRestartAt = new Date(Date.now() + delay);
    m.restartDelayMs = delay;
    m.restartTimer = setTimeout(() => {
      m.restartTimer = undefined;
      void this.serial(m.spec.name, async () => {
        // Someone started, stopped or restarted it meanwhile: their word wins.
        if (m.info.nextRestartAt === undefined || m.info.state === 'running' || this.closing) return;
        await this.spawnProcess(m, 'policy');
      }).catch((e: Error) =>
        this.onEvent({ name: m.spec.name, component: m.spec.component, event: 'failed', detail: { reason: 'restart failed', error: e.message } }),
      );
    }, delay);
    m.restartTimer.unref();
    return delay;
  }

  private cancelRestart(m: Managed): void {
    if (m.restartTimer) clearTimeout(m.restartTimer);
    m.restartTimer = undefined;
    m.info.nextRestartAt = undefined;
  }

  private mustGet(name: string): Managed {
    if (!name) throw new PlatformError('invalid_argument', 'name: must not be empty', 'name');
    const m = this.procs.get(name);
    if (!m) throw new PlatformError('not_found', `no instance named ${JSON.stringify(name)} was started or registered by this platform`);
    return m;
  }
}

/** A copy of the current state (callers never see it change under them); a registered instance never started has 0 restarts. */
const snapshot = (m: Managed): ProcessInfo => ({
  ...m.info,
  restarts: Math.max(0, m.info.restarts),
  ...(m.info.envOverrides ? { envOverrides: { ...m.info.envOverrides } } : {}),
});

const isSignal = (s: string): s is NodeJS.Signals => Object.prototype.hasOwnProperty.call(os.constants.signals, s);

function checkGrace(graceMs: number): void {
  if (!Number.isInteger(graceMs) || graceMs < 0 || graceMs > MAX_GRACE_MS) {
    throw new PlatformError('invalid_argument', `graceMs: must be an integer in 0..${MAX_GRACE_MS}`, 'grace_ms');
  }
}
