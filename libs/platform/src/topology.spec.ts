import { devServerArgs, SEARCH_ATTRIBUTES } from './temporal';
import { loadStackEnv, restartPolicyOf } from './stack-config';
import { stackComponents } from './topology';

const endpoints = { host: '127.0.0.1', databaseUrl: 'postgres://db/ranksafe', temporalAddress: '127.0.0.1:7233', adminToken: 'tok-tok-tok-tok-tok' };

describe('stack topology', () => {
  it('runs 2 replicas of retrieval and ranking by default, with distinct ports', () => {
    const c = stackComponents(loadStackEnv({}), endpoints);
    expect(c.map((x) => x.instance)).toEqual([
      'model-registry',
      'retrieval-service-1',
      'retrieval-service-2',
      'ranking-service-1',
      'ranking-service-2',
      'gateway',
      'drill-worker',
      'load-agent',
    ]);
    const ports = c.flatMap((x) => [x.env.GRPC_PORT, x.env.METRICS_PORT]).filter(Boolean);
    expect(new Set(ports).size).toBe(ports.length);
    const gw = c.find((x) => x.app === 'gateway')!;
    expect(gw.env.RETRIEVAL_TARGETS).toBe('127.0.0.1:50061,127.0.0.1:50062');
    expect(gw.env.RANKING_TARGETS).toBe('127.0.0.1:50071,127.0.0.1:50072');
    expect(c.every((x) => x.env.ADMIN_TOKEN === endpoints.adminToken)).toBe(true);
    expect(c.find((x) => x.app === 'model-registry')!.env.DATABASE_URL).toBe(endpoints.databaseUrl);
    expect(c.find((x) => x.app === 'drill-worker')!.env.PLATFORM_ADDRESS).toBe('127.0.0.1:50091');
    expect(c.find((x) => x.app === 'drill-worker')!.env.SNAPSHOT_RPO_TARGET_MS).toBe('7200000');
    // Drills are on for the embedded stack, and the worker reads "in rotation" from the gateway's own /metrics.
    const worker = c.find((x) => x.app === 'drill-worker')!;
    expect(worker.env).toMatchObject({
      DRILLS_ENABLED: 'true',
      DRILL_ALLOW_LIST: 'ranking-service,retrieval-service,model-registry',
      DRILL_LOAD_AGENT: 'load-agent',
    });
    expect(worker.env.DRILL_GATEWAY_METRICS).toBe(`127.0.0.1:${gw.metricsPort}`);
  });

  it('points the registry (alone) at its database proxy, and re-checks its database every REGISTRY_DB_CHECK_INTERVAL_MS', () => {
    const c = stackComponents(loadStackEnv({}), { ...endpoints, registryDatabaseUrl: 'postgres://127.0.0.1:54339/ranksafe' });
    expect(c.find((x) => x.app === 'model-registry')!.env).toMatchObject({ DATABASE_URL: 'postgres://127.0.0.1:54339/ranksafe', DB_CHECK_INTERVAL_MS: '1000' });
    for (const x of c.filter((x) => x.app !== 'model-registry' && x.env.DATABASE_URL))
      expect([x.instance, x.env.DATABASE_URL]).toEqual([x.instance, endpoints.databaseUrl]);
  });

  it('has an on-demand load agent (registered, not started) that sends through the gateway and records in Postgres', () => {
    const c = stackComponents(loadStackEnv({ GATEWAY_PORT: '7000' }), { ...endpoints, catalogIndex: '/data/indexes/demo' });
    expect(c.filter((x) => x.onDemand).map((x) => x.instance)).toEqual(['load-agent']);
    const agent = c.at(-1)!;
    expect(agent).toMatchObject({ app: 'load-agent', instance: 'load-agent', grpcAddress: undefined, onDemand: true });
    expect(agent.entry).toMatch(/apps\/load-agent\/src\/main\.ts$/);
    expect(agent.env).toMatchObject({
      DATABASE_URL: endpoints.databaseUrl,
      GATEWAY_ADDRESS: '127.0.0.1:7000',
      ADMIN_TOKEN: endpoints.adminToken,
      LOAD_CATALOG_DIR: '/data/indexes/demo',
      METRICS_PORT: String(agent.metricsPort),
    });
    expect(agent.env.GRPC_PORT).toBeUndefined();
    // Without a known index: the data dir's demo index.
    expect(stackComponents(loadStackEnv({ RANKSAFE_DATA_DIR: '/tmp/rs-data' }), endpoints).at(-1)!.env.LOAD_CATALOG_DIR).toBe('/tmp/rs-data/indexes/demo');
  });

  it('tells the drill-worker where the Platform service is, and reads the restart policy', () => {
    const cfg = loadStackEnv({ PLATFORM_PORT: '6100', PLATFORM_RESTART_POLICY: 'on-failure', PLATFORM_RESTART_BACKOFF_MS: '200' });
    expect(stackComponents(cfg, endpoints).find((x) => x.app === 'drill-worker')!.env.PLATFORM_ADDRESS).toBe('127.0.0.1:6100');
    expect(restartPolicyOf(cfg)).toEqual({ kind: 'on-failure', backoffMs: 200, maxBackoffMs: 30_000 });
    expect(restartPolicyOf(loadStackEnv({}))).toEqual({ kind: 'never' });
    expect(() => loadStackEnv({ PLATFORM_RESTART_POLICY: 'always' })).toThrow(/PLATFORM_RESTART_POLICY/);
  });

  it('follows the configured ports and replica counts', () => {
    const cfg = loadStackEnv({ RANKING_REPLICAS: '3', RANKING_PORT: '6000', RETRIEVAL_REPLICAS: '1', GATEWAY_PORT: '7000' });
    const c = stackComponents(cfg, endpoints);
    expect(c.filter((x) => x.app === 'ranking-service').map((x) => x.grpcAddress)).toEqual(['127.0.0.1:6000', '127.0.0.1:6001', '127.0.0.1:6002']);
    expect(c.filter((x) => x.app === 'retrieval-service')).toHaveLength(1);
    expect(c.find((x) => x.app === 'gateway')!.grpcAddress).toBe('127.0.0.1:7000');
  });

  it('rejects a bad stack configuration with one line', () => {
    expect(() => loadStackEnv({ RANKING_REPLICAS: '0', DATABASE_URL: 'not a url' })).toThrow(
      /^invalid configuration for the ranksafe stack: .*RANKING_REPLICAS.*DATABASE_URL/,
    );
  });
});

describe('temporal dev server arguments', () => {
  it('registers the drill search attributes, persists to SQLite and serves the UI', () => {
    const args = devServerArgs({ host: '127.0.0.1', port: 7233, uiPort: 8233, dbFile: '/d/t.db', namespace: 'default' });
    expect(args.slice(0, 2)).toEqual(['server', 'start-dev']);
    expect(args).toEqual(expect.arrayContaining(['--db-filename', '/d/t.db', '--ui-port', '8233']));
    for (const [k, t] of Object.entries(SEARCH_ATTRIBUTES)) expect(args).toContain(`${k}=${t}`);
    expect(args).not.toContain('--headless');
  });
  it('runs headless and in memory for tests', () => {
    const args = devServerArgs({ host: '127.0.0.1', port: 7999, namespace: 'default' });
    expect(args).toContain('--headless');
    expect(args).not.toContain('--db-filename');
  });
});
