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
 * dropped, an admin terminated it, the path to it cut) makes the pool emit 'error'; unhandled, that
 * would crash the process. The pool has already discarded that client and the next query connects
 * again, so the error is only passed to `onIdleError` (default: ignored). A checked-out client
 * between two queries (inside a transaction) emits it on itself, where the pool no longer listens:
 * it goes to `onIdleError` too, its next query rejects, and the pool discards it when released.
 */
export function createPool(url: string, extra: PoolConfig = {}, onIdleError: (e: Error) => void = () => undefined): Pool {
  const pool = new Pool({ connectionString: url, max: 10, idleTimeoutMillis: 30_000, ...extra });
  pool.on('error', onIdleError);
  pool.on('connect', (c) => void c.on('error', onIdleError));
  return pool;
}

const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Whether a pg error means the database cannot be reached or the connection was lost (refused,
 * reset, timed out, terminated; SQLSTATE class 08 or a server shutting down), as opposed to an
 * error in what was asked: the caller answers UNAVAILABLE (try again later), not INTERNAL.
 */
export function isConnectionError(e: unknown): boolean {
  // Not `instanceof Error`: Node's socket errors may come from another realm (jest's sandbox).
  if (typeof e !== 'object' || e === null) return false;
  const { code, message } = e as { code?: unknown; message?: unknown };
  const c = typeof code === 'string' ? code : '';
  if (CONNECTION_ERRNOS.has(c) || c.startsWith('08') || ['57P01', '57P02', '57P03'].includes(c)) return true;
  return typeof message === 'string' && /Connection terminated|not queryable|timeout exceeded when trying to connect|Connection refused/i.test(message);
}
