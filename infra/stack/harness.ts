// The local stack (`npm start`'s supervisor, infra/stack/up.ts) as end-to-end tests drive it: a
// block of free ports, a scratch database and data dir, start (wait for "ranksafe is up"),
// Ctrl-C, the ops CLI, and the log tails that say why a start failed. Used by the *.e2e.spec.ts
// files next to it.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { portFree, WORKSPACE_ROOT } from '@ranksafe/platform';
import { SearchClient, SearchRequest } from '@ranksafe/proto';
import { unaryCall } from '@ranksafe/serving-kit';
import { eventually, scratchDatabase } from '@ranksafe/testing';

export const NODE = [process.execPath, '--import', 'tsx'];
const STEADY_QUERIES = ['velvet sofa', 'oak table', 'desk lamp', 'outdoor chair', 'wool rug', 'bed frame'];

async function pickPorts(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below the kernel's ephemeral range (32768+), where outgoing connections and the Temporal
    // dev server's randomly chosen internal ports could take a port of the block meanwhile.
    const base = 20000 + Math.floor(Math.random() * 12000);
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => portFree('127.0.0.1', base + i)));
    if (all.every(Boolean)) return base;
  }
  throw new Error('no free port block');
}

export interface TestStack {
  dataDir: string;
  env: NodeJS.ProcessEnv;
  /** First port of the block: gateway = base, retrieval base+1.., ranking base+3.., registry base+5, Temporal base+6, UI base+7, Platform base+8, metrics base+10.., the registry's database proxy base+18. */
  base: number;
  /** The running supervisor (after start()). */
  readonly up: ChildProcess | undefined;
  /** What up.ts printed since the last start(). */
  readonly output: string;
  start(): Promise<void>;
  /** Ctrl-C the running supervisor, if any, and wait for it to exit. */
  stop(): Promise<void>;
  /** stop(), drop the scratch database, remove the data dir. */
  teardown(): Promise<void>;
  ops(...args: string[]): SpawnSyncReturns<string>;
  /**
   * Until `inARow` sequential Searches in a row are answered, not degraded, each within `withinMs`: a
   * freshly started stack on 2 cores is not steady at once (the first requests miss the gateway's
   * retrieval budget while the processes warm up), and a drill rightly refuses an unsteady system.
   */
  steadySearch(opts?: { inARow?: number; withinMs?: number; timeoutMs?: number }): Promise<{ sent: number; ms: number }>;
  /** The ops CLI without blocking this process (a long `ops drill run`); killed after `timeoutMs`. */
  opsAsync(args: string[], timeoutMs?: number): Promise<{ status: number | null; stdout: string; stderr: string }>;
  /** The last lines of every component log. */
  logTails(lines?: number): string;
  pidOf(instance: string): number;
  pids(): number[];
  adminToken(): string;
}

/** Allocate ports, a scratch database and a data dir for one stack; `extraEnv` overrides the stack env. */
export async function testStack(name: string, extraEnv: Record<string, string> = {}): Promise<TestStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `rs-${name}-`));
  const db = await scratchDatabase(`rs_${name.replace(/\W/g, '_')}`);
  const base = await pickPorts();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RANKSAFE_DATA_DIR: dataDir,
    DATABASE_URL: db.url,
    GATEWAY_PORT: String(base),
    RETRIEVAL_PORT: String(base + 1),
    RANKING_PORT: String(base + 3),
    REGISTRY_PORT: String(base + 5),
    TEMPORAL_PORT: String(base + 6),
    TEMPORAL_UI_PORT: String(base + 7),
    PLATFORM_PORT: String(base + 8),
    PLATFORM_METRICS_PORT: String(base + 9),
    METRICS_PORT_BASE: String(base + 10),
    REGISTRY_DB_PROXY_PORT: String(base + 18),
    LOG_LEVEL: 'warn',
    TEMPORAL_ADDRESS: '',
    // A small demo shop keeps the first start short (the default is 100k products).
    DEMO_CATALOG_PRODUCTS: '1500',
    DEMO_CATALOG_USERS: '50',
    DEMO_CATALOG_SESSIONS: '2000',
    ...extraEnv,
  };
  let up: ChildProcess | undefined;
  let output = '';
  const logTails = (lines = 4) => {
    const dir = path.join(dataDir, 'logs');
    if (!fs.existsSync(dir)) return '(no logs)';
    return fs
      .readdirSync(dir)
      .map((f) => `--- ${f}\n${fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n').slice(-lines).join('\n')}`)
      .join('\n');
  };
  const stop = async () => {
    if (!up || up.exitCode !== null || up.signalCode !== null) return;
    const exited = new Promise((r) => up!.once('exit', r));
    up.kill('SIGINT');
    await exited;
  };
  return {
    dataDir,
    env,
    base,
    get up() {
      return up;
    },
    get output() {
      return output;
    },
    async start() {
      output = '';
      up = spawn(NODE[0]!, [...NODE.slice(1), 'infra/stack/up.ts'], { cwd: WORKSPACE_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      up.stdout!.on('data', (d) => (output += d));
      up.stderr!.on('data', (d) => (output += d));
      let gone = false;
      up.once('exit', () => (gone = true));
      try {
        await eventually(() => gone || output.includes('ranksafe is up'), 180_000, 200);
      } catch (e) {
        // Not up in time: stop it, or it outlives the test (and the next start finds it running).
        await stop();
        throw new Error(`${(e as Error).message}: up.ts did not come up:\n${output}\n${logTails()}`);
      }
      if (gone) throw new Error(`up.ts exited during start:\n${output}\n${logTails()}`);
    },
    stop,
    async teardown() {
      await stop();
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
    ops: (...args: string[]) =>
      spawnSync(NODE[0]!, [...NODE.slice(1), 'apps/ops/src/main.ts', ...args], { cwd: WORKSPACE_ROOT, env, encoding: 'utf8', timeout: 120_000 }),
    async steadySearch({ inARow = 20, withinMs = 300, timeoutMs = 180_000 } = {}) {
      const client = new SearchClient(`127.0.0.1:${base}`, grpc.credentials.createInsecure());
      const t0 = Date.now();
      let sent = 0;
      let run = 0;
      try {
        while (run < inARow) {
          if (Date.now() - t0 > timeoutMs) throw new Error(`the stack did not answer ${inARow} Searches in a row within ${withinMs} ms in ${timeoutMs} ms`);
          const q = STEADY_QUERIES[sent++ % STEADY_QUERIES.length]!;
          const t = Date.now();
          const r = await unaryCall(client.search.bind(client), SearchRequest.fromPartial({ query: q, k: 10 }), { deadlineMs: 5000 }).catch(() => undefined);
          run = r && !r.degraded && Date.now() - t <= withinMs ? run + 1 : 0;
          await new Promise((res) => setTimeout(res, 100));
        }
        return { sent, ms: Date.now() - t0 };
      } finally {
        client.close();
      }
    },
    opsAsync: (args: string[], timeoutMs = 600_000) =>
      new Promise((resolve, reject) => {
        const child = spawn(NODE[0]!, [...NODE.slice(1), 'apps/ops/src/main.ts', ...args], { cwd: WORKSPACE_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.once('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
        child.once('close', (status) => {
          clearTimeout(timer);
          resolve({ status, stdout, stderr });
        });
      }),
    logTails,
    pidOf: (instance) => JSON.parse(fs.readFileSync(path.join(dataDir, 'run', `${instance}.pid`), 'utf8')).pid as number,
    pids: () =>
      fs
        .readdirSync(path.join(dataDir, 'run'))
        .filter((f) => f.endsWith('.pid'))
        .map((f) => JSON.parse(fs.readFileSync(path.join(dataDir, 'run', f), 'utf8')).pid as number),
    adminToken: () => fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim(),
  };
}
