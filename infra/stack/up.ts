// `npm start`: brings the whole ranksafe stack up on its embedded defaults, waits until every
// component is healthy, prints where everything is, and stops it all cleanly on Ctrl-C.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createPool, migrateUp } from '@ranksafe/db';
import {
  adminToken,
  APPS,
  dataDir,
  ensureDir,
  ensureMonitor,
  ensureSnapshotSchedule,
  LocalProcessPlatform,
  LocalReplicaPlatform,
  loadStackEnv,
  platformAddressOf,
  portFree,
  postgresEventRecorder,
  postgresEventSource,
  REGISTRY_DB_PROXY,
  removeStackState,
  resolvePostgres,
  restartPolicyOf,
  servePlatform,
  stackComponents,
  startRegistryDbProxy,
  startTemporalDevServer,
  waitForTemporal,
  workflowPollers,
  WORKSPACE_ROOT,
  writeStackState,
  type ComponentSpec,
  type PlatformEventInfo,
  type ProcessSpec,
  type StackState,
} from '@ranksafe/platform';
import { ConfigError, waitForServing, type RunningService } from '@ranksafe/serving-kit';
import { Client, Connection } from '@temporalio/client';
import type { Pool } from 'pg';
import { spawn, spawnSync } from 'node:child_process';
import { DEMO_RECOMMENDER_NAME, ensureDemoRecommender } from './demo-recommender';

const t0 = Date.now();
const say = (line: string) => process.stdout.write(`${line}\n`);
const rel = (p: string) => path.relative(process.cwd(), p) || '.';

class StartupFailure extends Error {}

async function main() {
  const cfg = loadStackEnv();
  const data = dataDir(cfg.RANKSAFE_DATA_DIR);
  const runDir = path.join(data, 'run');
  const logDir = path.join(data, 'logs');

  const other = claimSupervisorLock(runDir);
  if (other) {
    throw new StartupFailure(`ranksafe is already running (supervisor pid ${other}); stop it with Ctrl-C in its terminal or 'kill ${other}'`);
  }
  const reaped = await LocalProcessPlatform.reapStale(runDir);
  if (reaped.length) say(`reaped processes left by an unclean stop: ${reaped.join(', ')}`);

  let pool: Pool | undefined;
  const pending: PlatformEventInfo[] = [];
  let recordToDb: ((e: PlatformEventInfo) => void) | undefined;
  const record = (e: PlatformEventInfo) => {
    if (!recordToDb) return void pending.push(e);
    recordToDb(e);
  };
  let up = false;
  const restartPolicy = restartPolicyOf(cfg);
  const platform = (platformRef = new LocalProcessPlatform(
    runDir,
    logDir,
    (e) => {
      record(e);
      if (!up) return;
      if (e.event === 'exited') say(`! ${e.name} exited unexpectedly (${JSON.stringify(e.detail)}); log: ${rel(path.join(logDir, `${e.name}.log`))}`);
      if (e.event === 'killed') say(`! ${e.name} killed (${String(e.detail.signal)}) through the Platform`);
      if (e.event === 'starting' && onDemand.has(e.name)) say(`  ${e.name} started on demand (pid ${String(e.detail.pid)})`);
      else if (e.event === 'starting' && typeof e.detail.restarts === 'number') void announceReady(e.name, e.component, e.detail);
    },
    { restartPolicy },
  ));
  /** A restarted instance (Platform call or restart policy): record 'ready' once its health says SERVING. */
  const announceReady = async (name: string, component: string, detail: Record<string, unknown>) => {
    say(`  ${name} starting again (${String(detail.reason)}, restart ${String(detail.restarts)}, pid ${String(detail.pid)})`);
    const address = platform.get(name)?.address;
    if (!address) return;
    const pid = detail.pid;
    const ok = await Promise.race([waitForServing(address, 90_000), platform.exited(name).then(() => false)]);
    if (ok && platform.get(name)?.pid === pid) {
      record({ name, component, event: 'ready', detail: { address, pid, restarts: detail.restarts } });
      say(`  ${name} ready again at ${address}`);
    }
  };
  let platformService: RunningService | undefined;

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping ranksafe …');
    await platformService?.shutdown().catch(() => undefined);
    await platform.stopAll(10_000);
    removeStackState(cfg);
    await pool?.end().catch(() => undefined);
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => {
    if (stopping) {
      say('forcing stop');
      for (const p of platform.list()) if (p.state === 'running') void platform.kill(p.name);
      return;
    }
    void stop(0);
  });
  process.on('SIGTERM', () => void stop(0));

  const token = adminToken(cfg);
  const temporalExternal = cfg.TEMPORAL_ADDRESS !== undefined;
  const temporalAddress = cfg.TEMPORAL_ADDRESS ?? `${cfg.RANKSAFE_HOST}:${cfg.TEMPORAL_PORT}`;
  const endpointsDraft = { host: cfg.RANKSAFE_HOST, databaseUrl: '', temporalAddress, adminToken: token };
  const planned = stackComponents(cfg, endpointsDraft);
  /** Instances registered with the Platform, not started: something starts them when needed (a drill, its load agent). */
  const onDemand = new Set(planned.filter((c) => c.onDemand).map((c) => c.instance));

  // Fail fast on ports that are taken, before starting anything.
  const ports: Array<[number, string, string]> = [
    [cfg.PLATFORM_PORT, 'Platform service', 'PLATFORM_PORT'],
    [cfg.REGISTRY_DB_PROXY_PORT, 'registry database proxy', 'REGISTRY_DB_PROXY_PORT'],
  ];
  if (cfg.PLATFORM_METRICS_PORT > 0) ports.push([cfg.PLATFORM_METRICS_PORT, 'Platform metrics', 'PLATFORM_METRICS_PORT']);
  if (!temporalExternal) {
    ports.push([cfg.TEMPORAL_PORT, 'Temporal frontend', 'TEMPORAL_PORT'], [cfg.TEMPORAL_UI_PORT, 'Temporal Web UI', 'TEMPORAL_UI_PORT']);
  }
  for (const c of planned) {
    const portVar = {
      'model-registry': 'REGISTRY_PORT',
      'retrieval-service': 'RETRIEVAL_PORT',
      'ranking-service': 'RANKING_PORT',
      gateway: 'GATEWAY_PORT',
      'drill-worker': '',
      'load-agent': '',
    }[c.app];
    if (c.env.GRPC_PORT) ports.push([Number(c.env.GRPC_PORT), `${c.instance} gRPC`, portVar]);
    ports.push([c.metricsPort, `${c.instance} metrics`, 'METRICS_PORT_BASE']);
  }
  for (const [port, what, envVar] of ports) {
    if (!(await portFree(cfg.RANKSAFE_HOST, port))) {
      throw new StartupFailure(`port ${port} (${what}) is in use on ${cfg.RANKSAFE_HOST}; stop the process using it or set ${envVar} to another port`);
    }
  }

  const catalogIndex = ensureCatalogIndex();
  let recommenderDir: string | undefined;
  let knownBadRecommenderDir: string | undefined;
  if (cfg.DEMO_RECOMMENDER === 'on') {
    const rec = ensureDemoRecommender(catalogIndex, data, say);
    recommenderDir = rec.dir;
    knownBadRecommenderDir = rec.knownBadDir;
    if (rec.why) say(rec.dir ? `  ${rec.why}` : `  no sequential recommender: ${rec.why}; Recommend answers from the embedding profile`);
  }

  say('starting Postgres …');
  const pg = await resolvePostgres(cfg, platform, data);
  await migrateUp(pg.url);
  pool = createPool(pg.url, { max: 2 });
  recordToDb = postgresEventRecorder(pool);
  for (const e of pending.splice(0)) record(e);
  say(`  postgres ready (${pg.mode})`);
  // The registry reaches Postgres through its own proxy, so a drill can cut the registry's database
  // path alone (the Postgres everything else shares stays up).
  const registryDatabaseUrl = await startRegistryDbProxy(platform, { host: cfg.RANKSAFE_HOST, port: cfg.REGISTRY_DB_PROXY_PORT, databaseUrl: pg.url });
  record({ name: REGISTRY_DB_PROXY, component: REGISTRY_DB_PROXY, event: 'ready', detail: { address: `${cfg.RANKSAFE_HOST}:${cfg.REGISTRY_DB_PROXY_PORT}` } });
  say(`  ${REGISTRY_DB_PROXY} ready at ${cfg.RANKSAFE_HOST}:${cfg.REGISTRY_DB_PROXY_PORT} (the registry's path to Postgres)`);

  // The process table as a service (ranksafe.v1.Platform) for the drill-worker and ops.
  platformService = await servePlatform({
    platform: new LocalReplicaPlatform(platform, postgresEventSource(pool)),
    host: cfg.RANKSAFE_HOST,
    port: cfg.PLATFORM_PORT,
    metricsPort: cfg.PLATFORM_METRICS_PORT,
    adminToken: token,
    logLevel: cfg.LOG_LEVEL === 'info' ? 'warn' : cfg.LOG_LEVEL,
  });
  const platformAddress = platformAddressOf(cfg);
  say(`  platform service at ${platformAddress} (restart policy ${cfg.PLATFORM_RESTART_POLICY})`);

  let temporalUiUrl: string | undefined;
  if (temporalExternal) {
    say(`using Temporal at ${temporalAddress} …`);
    if (!(await waitForTemporal(temporalAddress, 10_000))) {
      throw new StartupFailure(
        `Temporal at TEMPORAL_ADDRESS=${temporalAddress} does not answer; start it or unset TEMPORAL_ADDRESS to use the embedded dev server`,
      );
    }
  } else {
    say('starting Temporal dev server …');
    await startTemporalDevServer(platform, {
      host: cfg.RANKSAFE_HOST,
      port: cfg.TEMPORAL_PORT,
      uiPort: cfg.TEMPORAL_UI_PORT,
      dbFile: path.join(data, 'temporal', 'temporal.db'),
      namespace: cfg.TEMPORAL_NAMESPACE,
    });
    temporalUiUrl = `http://${cfg.RANKSAFE_HOST}:${cfg.TEMPORAL_UI_PORT}`;
    record({ name: 'temporal', component: 'temporal', event: 'ready', detail: { address: temporalAddress } });
  }
  say(`  temporal ready at ${temporalAddress}`);

  const components = stackComponents(cfg, {
    ...endpointsDraft,
    databaseUrl: pg.url,
    registryDatabaseUrl,
    catalogIndex,
    recommender: recommenderDir ? DEMO_RECOMMENDER_NAME : undefined,
  });
  const processSpec = (c: ComponentSpec): ProcessSpec => ({
    name: c.instance,
    component: c.app,
    command: process.execPath,
    args: ['--import', 'tsx', c.entry],
    env: c.env,
    cwd: WORKSPACE_ROOT,
    address: c.grpcAddress,
  });
  const startAndWait = async (c: ComponentSpec) => {
    await platform.start(processSpec(c));
    const alive = () => platform.get(c.instance)?.state === 'running';
    let ok: boolean;
    if (c.grpcAddress) {
      ok = await Promise.race([waitForServing(c.grpcAddress, 90_000), platform.exited(c.instance).then(() => false)]);
    } else {
      ok = await waitForWorker(stateOf(), 120_000, alive);
    }
    if (!ok) {
      const log = rel(path.join(logDir, `${c.instance}.log`));
      throw new StartupFailure(`${c.instance} ${alive() ? 'did not become healthy in time' : 'exited during start'}; see ${log}`);
    }
    record({ name: c.instance, component: c.app, event: 'ready', detail: { address: c.grpcAddress } });
    say(`  ${c.instance} ready${c.grpcAddress ? ` at ${c.grpcAddress}` : ''}`);
  };
  const stateOf = (): StackState => ({
    supervisorPid: process.pid,
    startedAtUnixMs: t0,
    postgresMode: pg.mode,
    databaseUrl: pg.url,
    temporalAddress,
    temporalNamespace: cfg.TEMPORAL_NAMESPACE,
    temporalTaskQueue: cfg.TEMPORAL_TASK_QUEUE,
    temporalUiUrl,
    platformAddress,
    components: components.map(({ app, instance, grpcAddress, metricsPort, onDemand }) => ({
      app,
      instance,
      grpcAddress,
      metricsPort,
      ...(onDemand ? { onDemand } : {}),
    })),
  });

  say('starting services …');
  // Registry first; replicas of a tier start together; gateway and worker last.
  const byApp = (app: keyof typeof APPS) => components.filter((c) => c.app === app && !c.onDemand);
  await Promise.all(byApp('model-registry').map(startAndWait));
  await seedRegistry(byApp('model-registry')[0]!.grpcAddress!);
  for (const tier of [[...byApp('retrieval-service'), ...byApp('ranking-service')], byApp('gateway'), byApp('drill-worker')]) {
    await Promise.all(tier.map(startAndWait));
  }
  for (const c of components.filter((x) => x.onDemand)) await platform.register(processSpec(c));
  writeStackState(cfg, stateOf());
  const monitors: string[] = [];
  const schedule = await scheduleBackups();
  up = true;

  const width = Math.max(...components.map((c) => c.instance.length), 12) + 2;
  const row = (k: string, v: string) => say(`  ${k.padEnd(width)}${v}`);
  say('');
  say(`ranksafe is up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  if (temporalUiUrl) row('Temporal UI', temporalUiUrl);
  row('Temporal', `${temporalAddress} (namespace ${cfg.TEMPORAL_NAMESPACE}, task queue ${cfg.TEMPORAL_TASK_QUEUE})`);
  row('Postgres', `${pg.url.replace(/:[^:@/]*@/, ':***@')} (${pg.mode})`);
  row(
    'Platform',
    `${platformAddress}  ranksafe.v1.Platform${cfg.PLATFORM_METRICS_PORT > 0 ? `  metrics :${cfg.PLATFORM_METRICS_PORT}` : ''}  restart policy ${cfg.PLATFORM_RESTART_POLICY}`,
  );
  for (const c of components) {
    if (c.onDemand) row(c.instance, `on demand (started through the Platform by a drill)  metrics :${c.metricsPort} while it runs`);
    else row(c.instance, c.grpcAddress ? `${c.grpcAddress}  metrics :${c.metricsPort}` : `metrics :${c.metricsPort}`);
  }
  if (schedule) row('backups', schedule);
  row('detection', monitors.length ? `${monitors.join(', ')} (a failed replica is recovered automatically)` : 'off (MONITORS=off)');
  row('logs', `${rel(logDir)}/`);
  row('admin token', cfg.ADMIN_TOKEN ? 'ADMIN_TOKEN' : rel(path.join(data, 'admin-token')));
  say('');
  say('check it: npm run ops -- status    ·    npm run ops -- ping-workflow    ·    Ctrl-C stops everything');

  process.on('uncaughtException', (e) => {
    say(`error: supervisor failure: ${e.message}`);
    void stop(1);
  });

  /** Create or update the registry backup schedule (a Temporal Schedule running BackupSnapshot); start the tier monitors. */
  async function scheduleBackups(): Promise<string | undefined> {
    const conn = await Connection.connect({ address: temporalAddress });
    try {
      const client = new Client({ connection: conn, namespace: cfg.TEMPORAL_NAMESPACE });
      const off = cfg.SNAPSHOT_INTERVAL_MS === 0;
      const s = await ensureSnapshotSchedule(client, {
        taskQueue: cfg.TEMPORAL_TASK_QUEUE,
        intervalMs: off ? 3_600_000 : cfg.SNAPSHOT_INTERVAL_MS,
        rpoTargetMs: cfg.SNAPSHOT_RPO_TARGET_MS,
        paused: off,
      });
      if (cfg.MONITORS === 'on') {
        for (const tier of ['ranking-service', 'retrieval-service'] as const) {
          const replicas = byApp(tier).map((c) => ({ instance: c.instance, address: c.grpcAddress! }));
          const m = await ensureMonitor(client, {
            taskQueue: cfg.TEMPORAL_TASK_QUEUE,
            tier,
            replicas,
            intervalMs: cfg.MONITOR_INTERVAL_MS,
            failureThreshold: cfg.MONITOR_FAILURE_THRESHOLD,
            latencySloMs: cfg.MONITOR_LATENCY_SLO_MS,
          });
          monitors.push(`${m.workflowId}${m.started ? '' : ' (already running)'}`);
        }
      }
      return off
        ? `schedule ${s.scheduleId} paused (SNAPSHOT_INTERVAL_MS=0)`
        : `schedule ${s.scheduleId}: registry snapshot + verify every ${Math.round(s.intervalMs / 60_000)} min`;
    } catch (e) {
      say(`! cannot create the backup schedule: ${(e as Error).message}`);
      return undefined;
    } finally {
      await conn.close();
    }
  }

  /** Register the served model and the catalog index in the registry with production aliases (when missing). */
  async function seedRegistry(registry: string): Promise<void> {
    say('seeding the model registry …');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(WORKSPACE_ROOT, 'infra', 'stack', 'seed-registry.ts'),
        '--registry',
        registry,
        '--index',
        catalogIndex,
        ...(recommenderDir ? ['--recommender-dir', recommenderDir] : []),
        ...(knownBadRecommenderDir ? ['--known-bad-recommender-dir', knownBadRecommenderDir] : []),
      ],
      {
        cwd: WORKSPACE_ROOT,
        env: { ...process.env, ADMIN_TOKEN: token },
        stdio: ['ignore', 'inherit', 'pipe'],
      },
    );
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    if (code !== 0) throw new StartupFailure(`cannot seed the model registry: ${err.trim() || `exit ${code}`}`);
  }

  /** The index the retrieval replicas serve: CATALOG_INDEX, or a demo shop built on first start. */
  function ensureCatalogIndex(): string {
    const root = cfg.CATALOG_INDEX ? path.resolve(cfg.CATALOG_INDEX) : path.join(data, 'indexes', 'demo');
    const source = cfg.CATALOG_FILE
      ? ['--catalog', path.resolve(cfg.CATALOG_FILE)]
      : [
          '--synthetic',
          String(cfg.DEMO_CATALOG_PRODUCTS),
          '--synthetic-users',
          String(cfg.DEMO_CATALOG_USERS),
          '--synthetic-sessions',
          String(cfg.DEMO_CATALOG_SESSIONS),
        ];
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(WORKSPACE_ROOT, 'tools', 'data', 'build-index.ts'), '--out', root, ...source, '--if-missing'],
      {
        cwd: WORKSPACE_ROOT,
        stdio: ['ignore', 'inherit', 'pipe'],
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) throw new StartupFailure(`cannot prepare the catalog index at ${rel(root)}: ${(r.stderr || `exit ${r.status}`).trim()}`);
    return root;
  }

  async function waitForWorker(state: StackState, timeoutMs: number, alive: () => boolean): Promise<boolean> {
    const conn = await Connection.connect({ address: state.temporalAddress });
    try {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until && alive()) {
        if ((await workflowPollers(conn, state.temporalNamespace, state.temporalTaskQueue)) > 0) return true;
        await new Promise((r) => setTimeout(r, 250));
      }
      return false;
    } finally {
      await conn.close();
    }
  }
}

/** Take .data/run/supervisor.lock; returns the pid of a live supervisor that holds it instead. */
function claimSupervisorLock(runDir: string): number | undefined {
  const file = path.join(ensureDir(runDir), 'supervisor.lock');
  try {
    const pid = Number(fs.readFileSync(file, 'utf8'));
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (pid !== process.pid && cmd.includes('infra/stack/up')) return pid;
  } catch {
    /* no lock, or its holder is gone */
  }
  fs.writeFileSync(file, String(process.pid));
  process.on('exit', () => fs.rmSync(file, { force: true }));
  return undefined;
}

let platformRef: LocalProcessPlatform | undefined;
main().catch(async (e: Error & { fatalStartup?: boolean }) => {
  const oneLine = e instanceof StartupFailure || e instanceof ConfigError || e.fatalStartup;
  process.stderr.write(`error: ${oneLine ? e.message : (e.stack ?? e.message)}\n`);
  await platformRef?.stopAll(5000);
  process.exit(1);
});
