// `npm test` harness: starts what the tests need (Postgres: DATABASE_URL, the local server or an
// embedded one; a throwaway in-memory Temporal dev server from the official CLI), runs the given
// command with their addresses in its environment, then stops what it started.
//   node --import tsx infra/stack/with-deps.ts -- <command> [args...]
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import {
  dataDir,
  freePort,
  LocalProcessPlatform,
  loadStackEnv,
  locateTemporalCli,
  locateTemporalTestServer,
  resolvePostgres,
  startTemporalDevServer,
} from '@ranksafe/platform';

async function main(): Promise<number> {
  const sep = process.argv.indexOf('--');
  const cmd = sep >= 0 ? process.argv.slice(sep + 1) : [];
  if (cmd.length === 0) throw new Error('usage: with-deps.ts -- <command> [args...]');
  const cfg = loadStackEnv();
  const data = path.join(dataDir(cfg.RANKSAFE_DATA_DIR), 'test');
  const runDir = path.join(data, 'run');
  await LocalProcessPlatform.reapStale(runDir);
  const platform = new LocalProcessPlatform(runDir, path.join(data, 'logs'));
  const stop = () => platform.stopAll(5000);
  process.on('SIGINT', () => void stop().then(() => process.exit(130)));
  process.on('SIGTERM', () => void stop().then(() => process.exit(143)));
  try {
    const pg = await resolvePostgres({ ...cfg, EMBEDDED_PG_PORT: cfg.EMBEDDED_PG_PORT + 1 }, platform, data, 'ranksafe_test');
    const temporalAddress = await startTemporalDevServer(platform, {
      name: 'temporal-test',
      host: '127.0.0.1',
      port: await freePort(),
      namespace: 'default',
    });
    process.stdout.write(`test dependencies: postgres ${pg.mode}, temporal dev server ${temporalAddress}\n`);
    const child = spawn(cmd[0]!, cmd.slice(1), {
      stdio: 'inherit',
      env: {
        ...process.env,
        DATABASE_URL: pg.url,
        TEMPORAL_ADDRESS: temporalAddress,
        TEMPORAL_CLI_PATH: locateTemporalCli(),
        TEMPORAL_TEST_SERVER_PATH: locateTemporalTestServer(),
      },
    });
    return await new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  } finally {
    await stop();
  }
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(1);
  },
);
