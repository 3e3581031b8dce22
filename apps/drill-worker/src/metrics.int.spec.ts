// The drill-worker's /metrics with the cold path wired as main.ts wires it: its config (RPO target,
// read timeout), its own pool on a real (scratch) Postgres, a real RegistryClient to a registry
// that is not there, which must cost that source only.
import type { Pool } from 'pg';
import { createPool, migrateUp, upsertIncident } from '@ranksafe/db';
import { RegistryClient } from '@ranksafe/registry-client';
import { ServiceMetrics, startMetricsServer } from '@ranksafe/serving-kit';
import { scratchDatabase } from '@ranksafe/testing';
import { loadWorkerConfig } from './config';
import { startColdPathMetrics } from './worker';

describe('drill-worker cold-path metrics', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let pool: Pool;
  beforeAll(async () => {
    db = await scratchDatabase();
    await migrateUp(db.url);
    pool = createPool(db.url, { max: 1 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('reads SNAPSHOT_RPO_TARGET_MS (default as the stack: 2 h) and METRICS_QUERY_TIMEOUT_MS', () => {
    expect(loadWorkerConfig({})).toMatchObject({ SNAPSHOT_RPO_TARGET_MS: 7_200_000, METRICS_QUERY_TIMEOUT_MS: 2000 });
    expect(loadWorkerConfig({ SNAPSHOT_RPO_TARGET_MS: '900000', METRICS_QUERY_TIMEOUT_MS: '500' })).toMatchObject({
      SNAPSHOT_RPO_TARGET_MS: 900_000,
      METRICS_QUERY_TIMEOUT_MS: 500,
    });
    expect(() => loadWorkerConfig({ SNAPSHOT_RPO_TARGET_MS: 'soon' })).toThrow(/SNAPSHOT_RPO_TARGET_MS/);
  });

  it('serves incidents and the RPO target on /metrics; an unreachable registry is one counted error', async () => {
    await upsertIncident(pool, {
      id: 'i1',
      instance: 'ranking-service-2',
      component: 'ranking-service',
      reason: 'x',
      detectedAtUnixMs: 1_000,
      state: 'unrecovered',
    });
    const cfg = loadWorkerConfig({ DATABASE_URL: db.url, SNAPSHOT_RPO_TARGET_MS: '900000', METRICS_QUERY_TIMEOUT_MS: '1500', LOG_LEVEL: 'silent' });
    const registry = new RegistryClient('127.0.0.1:1', { actor: 'test' });
    const metrics = new ServiceMetrics('drill-worker', 'drill-worker');
    const failed: string[] = [];
    const cold = startColdPathMetrics(cfg, metrics.registry, registry, (source) => failed.push(source));
    const http = await startMetricsServer(metrics, '127.0.0.1', 0, () => true);
    try {
      const text = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
      expect(text).toMatch(/^ranksafe_incidents_open\{component="ranking-service",state="unrecovered",service="drill-worker",instance="drill-worker"\} 1$/m);
      expect(text).toMatch(/^ranksafe_snapshot_rpo_target_seconds\{[^}]*\} 900$/m);
      expect(text).not.toMatch(/^ranksafe_snapshot_rpo_age_seconds/m); // unknown: left out
      expect(text).toMatch(/^ranksafe_cold_path_collect_errors_total\{source="snapshots",[^}]*\} 1$/m);
      expect(text).toMatch(/^ranksafe_cold_path_up\{source="incidents",[^}]*\} 1$/m);
      expect(failed).toEqual(['snapshots']);
    } finally {
      await http.close();
      await cold.close();
      registry.close();
    }
  });
});
