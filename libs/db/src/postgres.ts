import * as net from 'node:net';
import { Client, Pool, type PoolConfig } from 'pg';

/** Redact the password of a postgres URL for logs and error lines. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable DATABASE_URL>';
  }
}

/** Is something accepting TCP connections on host:port? */
export function tcpOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Connect once and run SELECT 1; resolves to an error message, or undefined when reachable. */
export async function probeDatabase(url: string, timeoutMs = 3000): Promise<string | undefined> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return err.code ? `${err.code}: ${err.message}` : err.message;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Create database `name` on the server of `adminUrl` if it does not exist yet. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid database name "${name}"`);
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0) {
      // Identifiers cannot be bound as parameters; the name is validated above.
      await c.query(`CREATE DATABASE "${name}"`).catch((e: { code?: string }) => {
        if (e.code !== '42P04') throw e; // created concurrently
      });
    }
  } finally {
    await c.end();
  }
}

/** Drop database `name` (tests' scratch databases). */
export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`invalid database name "${name}"`);
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
}

/** URL of database `name` on the same server as `url`. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * A pg Pool. An idle client whose connection the server ends (Postgres restarted, the database
 * dropped, an admin terminated it) makes the pool emit 'error'; unhandled, that would crash the
 * process. The pool has already discarded that client and the next query connects again, so the
 * error is only passed to `onIdleError` (default: ignored).
 */
export function createPool(url: string, extra: PoolConfig = {}, onIdleError: (e: Error) => void = () => undefined): Pool {
  const pool = new Pool({ connectionString: url, max: 10, idleTimeoutMillis: 30_000, ...extra });
  pool.on('error', onIdleError);
  return pool;
}
