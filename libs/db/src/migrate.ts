import * as path from 'node:path';
import { runner } from 'node-pg-migrate';
import { Client } from 'pg';

/** infra/postgres/migrations: the one schema history of ranksafe. */
export const MIGRATIONS_DIR = path.resolve(__dirname, '../../../infra/postgres/migrations');

/** Advisory lock key serialising migrations across processes ("ranksafe" in ASCII, truncated). */
const MIGRATION_LOCK = 0x72616e6b73616665n;

export interface MigrateResult {
  applied: string[];
}

/**
 * Bring the schema of `databaseUrl` up to date. Several processes may call this at once (the
 * stack and the registry both do on start): they queue on an advisory lock, and whoever comes
 * second finds nothing left to apply. Each migration runs in one transaction.
 */
export async function migrateUp(databaseUrl: string, log: (msg: string) => void = () => undefined): Promise<MigrateResult> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
    const applied = await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: 'pgmigrations',
      count: Infinity,
      checkOrder: true,
      singleTransaction: true,
      noLock: true,
      log,
      logger: { debug: () => undefined, info: log, warn: log, error: log },
      verbose: false,
    });
    return { applied: applied.map((m) => m.name) };
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]).catch(() => undefined);
    await client.end();
  }
}
