// How the stack finds its Postgres: DATABASE_URL must answer, else fail fast with one line.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { probeDatabase } from '@ranksafe/db';
import { testServerUrl } from '@ranksafe/testing';
import { LocalProcessPlatform } from './local-process';
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
});
