import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureDir } from './paths';
import type { Platform, PlatformEventInfo, ProcessInfo, ProcessSpec } from './platform';

interface PidFile {
  pid: number;
  component: string;
  command: string;
  args: string[];
  startedAt: string;
}

interface Managed {
  info: ProcessInfo;
  child: ChildProcess;
  exited: Promise<void>;
  stopping: boolean;
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
 */
export class LocalProcessPlatform implements Platform {
  private procs = new Map<string, Managed>();

  constructor(
    private readonly runDir: string,
    private readonly logDir: string,
    private readonly onEvent: (e: PlatformEventInfo) => void = () => undefined,
  ) {
    ensureDir(runDir);
    ensureDir(logDir);
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

  async start(spec: ProcessSpec): Promise<ProcessInfo> {
    const existing = this.procs.get(spec.name);
    if (existing && existing.info.state === 'running') throw new Error(`${spec.name} is already running (pid ${existing.info.pid})`);
    const logFile = path.join(this.logDir, `${spec.name}.log`);
    const out = fs.openSync(logFile, 'a');
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', out, out],
      detached: true,
    });
    fs.closeSync(out);
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!));
      child.once('error', reject);
    });
    const info: ProcessInfo = { name: spec.name, component: spec.component, pid, state: 'running', startedAt: new Date(), logFile };
    const pidFile = path.join(this.runDir, `${spec.name}.pid`);
    const rec: PidFile = { pid, component: spec.component, command: spec.command, args: spec.args, startedAt: info.startedAt.toISOString() };
    fs.writeFileSync(pidFile, JSON.stringify(rec));
    const managed: Managed = {
      info,
      child,
      stopping: false,
      exited: new Promise<void>((resolve) =>
        child.once('exit', (code, signal) => {
          info.exitCode = code;
          info.signal = signal;
          if (info.state === 'running') info.state = managed.stopping ? 'stopped' : 'exited';
          fs.rmSync(pidFile, { force: true });
          // Reap anything the process left in its group (e.g. postgres under its launcher).
          signalGroup(pid, 'SIGKILL');
          if (!managed.stopping && info.state === 'exited') {
            this.onEvent({ name: spec.name, component: spec.component, event: 'exited', detail: { code, signal } });
          }
          resolve();
        }),
      ),
    };
    this.procs.set(spec.name, managed);
    this.onEvent({ name: spec.name, component: spec.component, event: 'starting', detail: { pid, command: spec.command, args: spec.args } });
    return info;
  }

  async stop(name: string, graceMs = 10_000): Promise<ProcessInfo> {
    const m = this.mustGet(name);
    if (m.info.state !== 'running') return m.info;
    m.stopping = true;
    this.onEvent({ name, component: m.info.component, event: 'stopping', detail: { graceMs } });
    signalGroup(m.info.pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      m.exited.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), graceMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      signalGroup(m.info.pid, 'SIGKILL');
      await m.exited;
    }
    m.info.state = 'stopped';
    this.onEvent({ name, component: m.info.component, event: 'stopped', detail: { code: m.info.exitCode, signal: m.info.signal, forced: timedOut } });
    return m.info;
  }

  async kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<ProcessInfo> {
    const m = this.mustGet(name);
    if (m.info.state !== 'running') return m.info;
    m.stopping = true;
    m.info.state = 'killed';
    signalGroup(m.info.pid, signal);
    await m.exited;
    this.onEvent({ name, component: m.info.component, event: 'killed', detail: { signal } });
    return m.info;
  }

  /** Stop every running process, the last started first. */
  async stopAll(graceMs = 10_000): Promise<void> {
    for (const name of [...this.procs.keys()].reverse()) await this.stop(name, graceMs);
  }

  list(): ProcessInfo[] {
    return [...this.procs.values()].map((m) => m.info);
  }

  get(name: string): ProcessInfo | undefined {
    return this.procs.get(name)?.info;
  }

  /** Resolves when the process exits (for waiting on a crash). */
  exited(name: string): Promise<void> {
    return this.mustGet(name).exited;
  }

  private mustGet(name: string): Managed {
    const m = this.procs.get(name);
    if (!m) throw new Error(`no process named ${name}`);
    return m;
  }
}
