import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureDatabase, probeDatabase, redactUrl, tcpOpen, withDatabase } from '@ranksafe/db';
import { startupError } from '@ranksafe/serving-kit';
import type { LocalProcessPlatform } from './local-process';
import { WORKSPACE_ROOT } from './paths';
import type { StackEnv } from './stack-config';

export interface ResolvedPostgres {
  url: string;
  mode: 'external' | 'local' | 'embedded';
}

const LOCAL_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** The child's own error line from its log (the last `error:` line, else its last line). */
export function errorLine(logFile: string): string {
  let lines: string[] = [];
  try {
    lines = fs.readFileSync(logFile, 'utf8').trim().split('\n');
  } catch {
    return 'no log';
  }
  const err = [...lines].reverse().find((l) => /^error:|\b(FATAL|PANIC|ERROR):/.test(l));
  return (err ?? lines.at(-1) ?? 'empty log').trim().replace(/^error:\s*(embedded postgres failed:\s*)?/, '');
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/**
 * Find the Postgres ranksafe uses, in this order: DATABASE_URL (must answer, else fail fast);
 * the server on 127.0.0.1:5432 (database `database` is created if missing); an embedded
 * PostgreSQL under <dataDir>/postgres started through `platform`.
 */
export async function resolvePostgres(cfg: StackEnv, platform: LocalProcessPlatform, dataDir: string, database = 'ranksafe'): Promise<ResolvedPostgres> {
  if (cfg.DATABASE_URL && cfg.POSTGRES_MODE !== 'embedded') {
    const problem = await probeDatabase(cfg.DATABASE_URL);
    if (problem) {
      throw startupError(
        `DATABASE_URL ${redactUrl(cfg.DATABASE_URL)} is unreachable (${problem}); fix the URL, start that server, or unset DATABASE_URL to use the local or embedded Postgres`,
      );
    }
    return { url: cfg.DATABASE_URL, mode: 'external' };
  }
  if (cfg.POSTGRES_MODE === 'external') {
    throw startupError('POSTGRES_MODE=external needs DATABASE_URL; set it or use POSTGRES_MODE=auto');
  }
  if (cfg.POSTGRES_MODE === 'auto' && (await tcpOpen('127.0.0.1', 5432)) && !(await probeDatabase(LOCAL_ADMIN_URL))) {
    await ensureDatabase(LOCAL_ADMIN_URL, database);
    return { url: withDatabase(LOCAL_ADMIN_URL, database), mode: 'local' };
  }
  const port = cfg.EMBEDDED_PG_PORT;
  const adminUrl = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
  if (await tcpOpen('127.0.0.1', port)) {
    throw startupError(`port ${port} for the embedded Postgres is in use; stop that process or set EMBEDDED_PG_PORT`);
  }
  const started = await platform.start({
    name: 'postgres',
    component: 'postgres',
    command: process.execPath,
    args: ['--import', 'tsx', path.join(WORKSPACE_ROOT, 'infra/postgres/embedded.ts')],
    env: { EMBEDDED_PG_DIR: path.join(dataDir, 'postgres'), EMBEDDED_PG_PORT: String(port) },
    cwd: WORKSPACE_ROOT,
  });
  const log = started.logFile ?? '';
  // Up when it answers; failed as soon as the process is gone (its own error line, not a timeout).
  let gone = false;
  const up = await waitFor(async () => {
    const p = platform.get('postgres');
    gone = !p || p.state !== 'running' || p.restarts > started.restarts;
    return gone || !(await probeDatabase(adminUrl, 1000));
  }, 60_000);
  if (gone) throw startupError(`the embedded Postgres failed: ${errorLine(log)} (log: ${log})`);
  if (!up) {
    await platform.stop('postgres').catch(() => undefined);
    throw startupError(`the embedded Postgres did not answer on port ${port} within 60 s (last line: ${errorLine(log)}; log: ${log})`);
  }
  await ensureDatabase(adminUrl, database);
  return { url: withDatabase(adminUrl, database), mode: 'embedded' };
}
