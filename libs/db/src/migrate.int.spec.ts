// Real Postgres: schema migrations and the platform event log.
import { eventually, scratchDatabase } from '@ranksafe/testing';
import { createPool, migrateUp, probeDatabase, recordPlatformEvent, listPlatformEvents, redactUrl } from './index';
import type { Pool } from 'pg';

describe('migrations on a scratch database', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let pool: Pool;
  beforeAll(async () => {
    db = await scratchDatabase();
  });
  afterAll(async () => {
    await pool?.end();
    await db.drop();
  });

  it('applies every migration once, and is idempotent (also when run concurrently)', async () => {
    const [a, b] = await Promise.all([migrateUp(db.url), migrateUp(db.url)]);
    const applied = [...a.applied, ...b.applied];
    expect(applied).toEqual([
      '0001_platform_events',
      '0002_model_registry',
      '0003_registry_snapshots',
      '0004_gateway_routing',
      '0005_operations',
      '0006_drills',
      '0007_gateway_routing_kind',
    ]);
    expect((await migrateUp(db.url)).applied).toEqual([]);
    pool = createPool(db.url);
    const r = await pool.query('SELECT name FROM pgmigrations ORDER BY id');
    expect(r.rows.map((x) => x.name)).toEqual([
      '0001_platform_events',
      '0002_model_registry',
      '0003_registry_snapshots',
      '0004_gateway_routing',
      '0005_operations',
      '0006_drills',
      '0007_gateway_routing_kind',
    ]);
  });

  it('records and lists platform events, newest first, filtered by instance', async () => {
    await recordPlatformEvent(pool, { component: 'ranking-service', instance: 'ranking-service-1', event: 'starting', detail: { pid: 1 } });
    await recordPlatformEvent(pool, { component: 'ranking-service', instance: 'ranking-service-1', event: 'killed', detail: { signal: 'SIGKILL' } });
    await recordPlatformEvent(pool, { component: 'gateway', instance: 'gateway', event: 'ready' });
    const r1 = await listPlatformEvents(pool, { instance: 'ranking-service-1' });
    expect(r1.map((e) => e.event)).toEqual(['killed', 'starting']);
    expect(r1[0]!.detail).toEqual({ signal: 'SIGKILL' });
    expect((await listPlatformEvents(pool, { limit: 1 }))[0]!.instance).toBe('gateway');
  });

  it('refuses an unknown event kind at the database', async () => {
    await expect(recordPlatformEvent(pool, { component: 'x', instance: 'x', event: 'exploded' as never })).rejects.toThrow(/check constraint/);
  });
});

describe('createPool', () => {
  it('survives the server ending an idle connection, and the next query connects again', async () => {
    const db = await scratchDatabase();
    const errors: Error[] = [];
    const pool = createPool(db.url, { max: 1 }, (e) => errors.push(e));
    try {
      const { rows } = await pool.query('SELECT pg_backend_pid() AS pid');
      const admin = createPool(db.url, { max: 1 });
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
      await admin.end();
      await eventually(() => errors.length > 0, 10_000);
      expect(errors[0]!.message).toMatch(/terminating connection/);
      expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    } finally {
      await pool.end();
      await db.drop();
    }
  });
});

describe('probeDatabase', () => {
  it('says why a database is unreachable, and hides the password', async () => {
    const problem = await probeDatabase('postgres://u:secret@127.0.0.1:1/nope', 1000);
    expect(problem).toMatch(/ECONNREFUSED/);
    expect(redactUrl('postgres://u:secret@127.0.0.1:1/nope')).toBe('postgres://u:***@127.0.0.1:1/nope');
  });
});
