import * as path from 'node:path';
import { runner } from 'node-pg-migrate';

/** infra/postgres/migrations: the one schema history of ranksafe. */
export const MIGRATIONS_DIR = path.resolve(__dirname, '../../../infra/postgres/migrations');

export interface MigrateResult {
  applied: string[];
}

/**
 * Bring the schema of `databaseUrl` up to date. Safe to run from several processes at once:
 * node-pg-migrate takes an advisory lock, and already-applied migrations are skipped.
 */
export async function migrateUp(databaseUrl: string, log: (msg: string) => void = () => undefined): Promise<MigrateResult> {
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    count: Infinity,
    checkOrder: true,
    singleTransaction: true,
    log,
    logger: { debug: () => undefined, info: log, warn: log, error: log },
    noLock: false,
    verbose: false,
  });
  return { applied: applied.map((m) => m.name) };
}
