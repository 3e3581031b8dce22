// What every command group of the ops CLI shares: option parsers, the runner that turns an
// expected failure into one line on stderr, output formatting (tables, sizes, times, progress),
// and the typed clients of the stack (registry, Temporal, the replicas of a tier).
import * as os from 'node:os';
import * as grpc from '@grpc/grpc-js';
import { Client, Connection } from '@temporalio/client';
import { InvalidArgumentError } from 'commander';
import { adminToken, expectedTopology, type StackEnv, type StackState } from '@ranksafe/platform';
import { RegistryClient } from '@ranksafe/registry-client';

/** Loads the stack's configuration when a command runs (not when the program is built). */
export type LoadEnv = () => StackEnv;

/** commander parser of an integer option in min..max. */
export const int = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max}`);
  return n;
};

/** Milliseconds of a duration: `1500` or `1500ms`, `30s`, `2m`, `1h`, `7d` (decimals allowed: `1.5s`). */
export function parseDuration(v: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(v);
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms').toLowerCase() as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * unit);
}

/** commander parser of a duration option (see parseDuration) in min..max ms. */
export const duration = (name: string, min: number, max: number) => (v: string) => {
  const ms = parseDuration(v);
  if (ms === undefined || ms < min || ms > max)
    throw new InvalidArgumentError(
      `${name} must be a duration (e.g. 1500ms, 30s, 2m) between ${fmtAge(min).replace(/ 0[dhms]$/, '')} and ${fmtAge(max).replace(/ 0[dhms]$/, '')}`,
    );
  return ms;
};

/** commander parser of a number option in min..max (inclusive). */
export const num = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a number in ${min}..${max}`);
  return n;
};

export const say = (text: string) => process.stdout.write(`${text}\n`);

/** Run a command; expected failures (registry errors, bad input) as one line on stderr and exit code 1. */
export const run =
  <A extends unknown[]>(fn: (...args: A) => Promise<string>) =>
  async (...args: A) => {
    try {
      say(await fn(...args));
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      process.exitCode = 1;
    }
  };

/** As `run`, for a command whose outcome is also its exit code (e.g. 2 = rolled back). */
export const runWithExitCode =
  <A extends unknown[]>(fn: (...args: A) => Promise<{ text: string; exitCode: number }>) =>
  async (...args: A) => {
    try {
      const r = await fn(...args);
      if (r.text) say(r.text);
      process.exitCode = r.exitCode;
    } catch (e) {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      process.exitCode = 1;
    }
  };

// -- output ---------------------------------------------------------------------------------

/** Render rows as an aligned text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `key  value` lines with the keys aligned. */
export function fields(lines: Array<[string, string]>): string {
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

export const fmtBytes = (n: number) =>
  n >= 1024 ** 3
    ? `${(n / 1024 ** 3).toFixed(2)} GiB`
    : n >= 1024 ** 2
      ? `${(n / 1024 ** 2).toFixed(1)} MiB`
      : n >= 1024
        ? `${(n / 1024).toFixed(1)} KiB`
        : `${n} B`;
export const fmtTime = (ms: number) => (ms ? new Date(ms).toISOString() : '-');

/** 3d 4h, 2h 5m, 3m 12s, 42s. */
export function fmtAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/**
 * Progress on stderr: redrawn in place (a few times a second) on a TTY, else one line at every
 * ~10% step.
 */
export function progressReporter(label: string, total: number, out: NodeJS.WriteStream = process.stderr) {
  const t0 = Date.now();
  let lastDraw = 0;
  let lastStep = -1;
  const line = (done: number) => {
    const pct = total ? (done / total) * 100 : 100;
    const secs = Math.max((Date.now() - t0) / 1000, 1e-3);
    return `${label}: ${pct.toFixed(1).padStart(5)}%  ${fmtBytes(done)} / ${fmtBytes(total)}  ${(done / 1e6 / secs).toFixed(1)} MB/s`;
  };
  return {
    update(done: number) {
      if (out.isTTY) {
        const now = Date.now();
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        out.write(`\r${line(done)}\x1b[K`);
      } else {
        const step = total ? Math.floor((done / total) * 10) : 10;
        if (step > lastStep) {
          lastStep = step;
          out.write(`${line(done)}\n`);
        }
      }
    },
    finish(done: number) {
      if (out.isTTY) out.write(`\r${line(done)}\x1b[K\n`);
      else if (lastStep < 10) out.write(`${line(done)}\n`);
    },
  };
}

// -- clients of the stack -------------------------------------------------------------------

/** The replicas of a tier: from the running stack (.data/run/stack.json), else the configured topology. */
export function replicas(cfg: StackEnv, app: 'retrieval-service' | 'ranking-service' | 'gateway'): Array<{ instance: string; address: string }> {
  return expectedTopology(cfg)
    .components.filter((c) => c.app === app && c.grpcAddress)
    .map((c) => ({ instance: c.instance, address: c.grpcAddress! }));
}

/** The registry's address and the admin token of the stack (running, else configured). */
export function registryTarget(cfg: StackEnv): { address: string; token: string } {
  const reg = expectedTopology(cfg).components.find((c) => c.app === 'model-registry' && c.grpcAddress);
  if (!reg) throw new Error('the stack has no model-registry component');
  return { address: reg.grpcAddress!, token: adminToken(cfg) };
}

/**
 * Run `fn` with a RegistryClient of the stack's registry, acting as `ops:<user>` in its audit
 * log. A failed call becomes one readable line: `STATUS: details` (UNAVAILABLE says which
 * address could not be reached).
 */
export async function withRegistry<T>(cfg: StackEnv, fn: (registry: RegistryClient) => Promise<T>): Promise<T> {
  const { address, token } = registryTarget(cfg);
  const registry = new RegistryClient(address, { token, actor: `ops:${process.env.USER || os.userInfo().username}` });
  try {
    return await fn(registry);
  } catch (e) {
    const err = e as Partial<grpc.ServiceError>;
    if (typeof err.code === 'number' && err.details !== undefined) {
      const what = err.code === grpc.status.UNAVAILABLE ? `the model registry at ${address} is unreachable (${err.details})` : err.details;
      throw new Error(`${grpc.status[err.code]}: ${what}`);
    }
    throw e;
  } finally {
    registry.close();
  }
}

export async function withTemporal<T>(state: StackState, fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: state.temporalAddress, connectTimeout: 5000 });
  try {
    return await fn(new Client({ connection, namespace: state.temporalNamespace }));
  } finally {
    await connection.close();
  }
}
