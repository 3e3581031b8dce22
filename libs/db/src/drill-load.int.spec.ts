// Real Postgres: the load a drill wants and the requests the load agent sent (migration 0006).
import { scratchDatabase } from '@ranksafe/testing';
import type { Pool } from 'pg';
import {
  createPool,
  drillRequestSeries,
  drillRequestSummary,
  getLoad,
  heartbeatLoad,
  insertDrillRequests,
  markLoadRunning,
  migrateUp,
  nextLoad,
  requestLoad,
  stopLoad,
  type DrillRequestRecord,
} from './index';

const profile = { ratePerSec: 10, searchShare: 0.8, deadlineMs: 2000 };
const inMs = (ms: number) => new Date(Date.now() + ms);

describe('drill load', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let pool: Pool;
  beforeAll(async () => {
    db = await scratchDatabase();
    await migrateUp(db.url);
    pool = createPool(db.url);
  });
  afterAll(async () => {
    await pool?.end();
    await db.drop();
  });
  beforeEach(async () => {
    await pool.query('TRUNCATE drill_load, drill_requests');
  });

  it('asks for load once per run: a retried request neither duplicates it nor resets a running load', async () => {
    const a = await requestLoad(pool, { runId: 'r1', profile, deadlineAt: inMs(60_000) });
    expect(a).toMatchObject({ runId: 'r1', state: 'wanted', profile, startedAt: null, stoppedAt: null });
    expect(await markLoadRunning(pool, 'r1', { pid: 42, instance: 'load-agent' })).toBe(true);
    const later = inMs(120_000);
    const b = await requestLoad(pool, { runId: 'r1', profile: { ...profile, ratePerSec: 20 }, deadlineAt: later });
    expect(b).toMatchObject({ runId: 'r1', state: 'running', profile: { ratePerSec: 20 }, agent: { pid: 42, instance: 'load-agent' } });
    expect(b.deadlineAt.getTime()).toBe(later.getTime());
    expect(b.createdAt).toEqual(a.createdAt);
    expect((await pool.query('SELECT count(*)::int AS n FROM drill_load')).rows[0].n).toBe(1);
  });

  it('stops a load (idempotently, keeping the first stop time), and a late retried request leaves it stopped', async () => {
    await requestLoad(pool, { runId: 'r1', profile, deadlineAt: inMs(60_000) });
    await stopLoad(pool, 'r1');
    const first = (await getLoad(pool, 'r1'))!;
    expect(first.state).toBe('stopped');
    expect(first.stoppedAt).toBeInstanceOf(Date);
    await stopLoad(pool, 'r1');
    expect((await getLoad(pool, 'r1'))!.stoppedAt).toEqual(first.stoppedAt);
    const again = await requestLoad(pool, { runId: 'r1', profile, deadlineAt: inMs(60_000) });
    expect(again.state).toBe('stopped');
    expect(await markLoadRunning(pool, 'r1', { pid: 1, instance: 'a' })).toBe(false);
    expect(await heartbeatLoad(pool, 'r1')).toMatchObject({ state: 'stopped' });
    // Stopped before it was ever asked for: a tombstone, so the late request starts nothing.
    await stopLoad(pool, 'r2');
    expect((await requestLoad(pool, { runId: 'r2', profile, deadlineAt: inMs(60_000) })).state).toBe('stopped');
    expect(await nextLoad(pool)).toBeUndefined();
  });

  it('gives the agent the newest load that is wanted or running and within its deadline', async () => {
    expect(await nextLoad(pool)).toBeUndefined();
    await requestLoad(pool, { runId: 'old', profile, deadlineAt: inMs(60_000) });
    await new Promise((r) => setTimeout(r, 5));
    await requestLoad(pool, { runId: 'new', profile, deadlineAt: inMs(60_000) });
    await new Promise((r) => setTimeout(r, 5));
    await requestLoad(pool, { runId: 'expired', profile, deadlineAt: inMs(-1000) });
    expect((await nextLoad(pool))?.runId).toBe('new');
    expect(await markLoadRunning(pool, 'expired', { pid: 1, instance: 'a' })).toBe(false);
    await markLoadRunning(pool, 'new', { pid: 1, instance: 'a' });
    expect((await nextLoad(pool))?.runId).toBe('new'); // running is still "to run" (an agent restarted picks it up)
    await stopLoad(pool, 'new');
    expect((await nextLoad(pool))?.runId).toBe('old');
    expect(await heartbeatLoad(pool, 'nope')).toBeUndefined();
    const hb = await heartbeatLoad(pool, 'old');
    expect(hb).toMatchObject({ state: 'wanted', expired: false });
    expect(await heartbeatLoad(pool, 'expired')).toMatchObject({ state: 'wanted', expired: true });
    expect((await getLoad(pool, 'old'))!.heartbeatAt).toBeInstanceOf(Date);
  });

  it('records requests in one insert and reads them back per second and in total', async () => {
    await insertDrillRequests(pool, 'r1', []);
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 10_000;
    const rec = (dt: number, status: string, latencyMs: number, degraded = false, rpc: 'search' | 'recommend' = 'search'): DrillRequestRecord => ({
      at: t0 + dt,
      rpc,
      latencyMs,
      status,
      degraded,
    });
    await insertDrillRequests(pool, 'r1', [
      rec(0, 'OK', 10),
      rec(100, 'OK', 20),
      rec(200, 'OK', 30, true, 'recommend'),
      rec(900, 'UNAVAILABLE', 5),
      { ...rec(1000, 'OK', 40), at: new Date(t0 + 1000) },
      rec(1500, 'DROPPED', 0),
      rec(1600, 'DEADLINE_EXCEEDED', 2000),
      rec(3000, 'OK', 50, true),
    ]);
    await insertDrillRequests(pool, 'other', [rec(0, 'UNAVAILABLE', 1)]);

    const series = await drillRequestSeries(pool, 'r1');
    expect(series).toEqual([
      { atUnixMs: t0, sent: 4, ok: 3, failed: 1, degraded: 1, p50Ms: 20, p99Ms: expect.closeTo(29.8, 5) },
      { atUnixMs: t0 + 1000, sent: 3, ok: 1, failed: 2, degraded: 0, p50Ms: 40, p99Ms: 40 },
      { atUnixMs: t0 + 3000, sent: 1, ok: 1, failed: 0, degraded: 1, p50Ms: 50, p99Ms: 50 },
    ]);
    expect((await drillRequestSeries(pool, 'r1', { from: new Date(t0 + 1000), to: new Date(t0 + 3000) })).map((b) => b.atUnixMs)).toEqual([t0 + 1000]);

    expect(await drillRequestSummary(pool, 'r1')).toEqual({
      requests: 8,
      ok: 5,
      failed: 3,
      degraded: 2,
      p50Ms: 30,
      p99Ms: expect.closeTo(49.6, 5),
      byStatus: { OK: 3, DEGRADED: 2, UNAVAILABLE: 1, DROPPED: 1, DEADLINE_EXCEEDED: 1 },
    });
    const late = await drillRequestSummary(pool, 'r1', { from: new Date(t0 + 1500) });
    expect(late).toMatchObject({ requests: 3, ok: 1, failed: 2, byStatus: { DEGRADED: 1, DROPPED: 1, DEADLINE_EXCEEDED: 1 } });
    expect(await drillRequestSummary(pool, 'none')).toEqual({ requests: 0, ok: 0, failed: 0, degraded: 0, p50Ms: null, p99Ms: null, byStatus: {} });
    expect(await drillRequestSeries(pool, 'none')).toEqual([]);
  });
});
