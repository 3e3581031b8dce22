// The agent over real Postgres (drill_load, drill_requests) with a fake request function: a drill
// asks for load, the agent sends and records it, the drill reads it back per second and stops it;
// an agent that goes away leaves the load to the next one.
import * as grpc from '@grpc/grpc-js';
import type { Pool } from 'pg';
import { createPool, drillRequestSeries, drillRequestSummary, getLoad, migrateUp, requestLoad, stopLoad } from '@ranksafe/db';
import { eventually, scratchDatabase } from '@ranksafe/testing';
import { LoadAgent, pgLoadStore } from './agent';
import type { Sender } from './gateway';

describe('load agent on Postgres', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let pool: Pool;
  const agents: LoadAgent[] = [];
  beforeAll(async () => {
    db = await scratchDatabase('rs_load');
    await migrateUp(db.url);
    pool = createPool(db.url, { max: 4 });
  });
  afterAll(async () => {
    for (const a of agents) await a.stop();
    await pool?.end();
    await db?.drop();
  });

  let n = 0;
  const send: Sender = async (rpc) => {
    const k = n++;
    await new Promise((r) => setTimeout(r, 2));
    if (k % 20 === 7) throw Object.assign(new Error('down'), { code: grpc.status.UNAVAILABLE });
    return { degraded: rpc === 'recommend' && k % 5 === 0 };
  };
  const agent = (instance: string) => {
    const a = new LoadAgent({ store: pgLoadStore(pool), send, agent: { pid: process.pid, instance }, pollMs: 50, flushMs: 25 });
    agents.push(a);
    void a.start();
    return a;
  };

  it('runs a requested load, records every request, and stops when the drill stops it', async () => {
    const a = agent('agent-a');
    await requestLoad(pool, { runId: 'drill-1', profile: { ratePerSec: 100, searchShare: 0.8, deadlineMs: 500 }, deadlineAt: new Date(Date.now() + 60_000) });
    await eventually(async () => (await drillRequestSummary(pool, 'drill-1')).requests >= 100, 10_000, 50);
    expect(await getLoad(pool, 'drill-1')).toMatchObject({ state: 'running', agent: { instance: 'agent-a' } });
    await stopLoad(pool, 'drill-1');
    await eventually(() => a.runs.length === 1, 10_000, 20);
    const run = a.runs[0]!;
    expect(run.end).toBe('stopped');

    const summary = await drillRequestSummary(pool, 'drill-1');
    const s = run.summary!;
    expect(summary.requests).toBe(s.scheduled);
    expect(summary.ok).toBe(s.ok);
    expect(summary.degraded).toBe(s.degraded);
    expect(summary.failed).toBe(s.failedTotal + s.dropped);
    expect(summary.byStatus.UNAVAILABLE).toBe(s.failed.UNAVAILABLE);
    expect(summary.p50Ms).toBeGreaterThan(0);
    const series = await drillRequestSeries(pool, 'drill-1');
    expect(series.reduce((t, b) => t + b.sent, 0)).toBe(summary.requests);
    const rpcs = await pool.query(`SELECT rpc, count(*)::int AS n FROM drill_requests WHERE run_id = 'drill-1' GROUP BY rpc`);
    const by = Object.fromEntries(rpcs.rows.map((r) => [r.rpc, r.n]));
    expect(Math.abs(by.search / summary.requests - 0.8)).toBeLessThan(0.05);
  });

  it('leaves a running load to the next agent when it stops (a restart), which takes it up', async () => {
    const a = agents[0]!;
    await requestLoad(pool, { runId: 'drill-2', profile: { ratePerSec: 100, searchShare: 0.5, deadlineMs: 500 }, deadlineAt: new Date(Date.now() + 60_000) });
    await eventually(async () => (await drillRequestSummary(pool, 'drill-2')).requests > 20, 10_000, 50);
    await a.stop();
    const first = (await drillRequestSummary(pool, 'drill-2')).requests;
    expect(a.runs.at(-1)).toMatchObject({ runId: 'drill-2', end: 'shutdown' });
    expect(first).toBe(a.runs.at(-1)!.summary!.scheduled);
    expect((await getLoad(pool, 'drill-2'))!.state).toBe('running');

    const b = agent('agent-b');
    await eventually(async () => (await drillRequestSummary(pool, 'drill-2')).requests > first + 20, 10_000, 50);
    expect(await getLoad(pool, 'drill-2')).toMatchObject({ state: 'running', agent: { instance: 'agent-b' } });
    await stopLoad(pool, 'drill-2');
    await eventually(() => b.runs.length === 1, 10_000, 20);
    expect((await drillRequestSummary(pool, 'drill-2')).requests).toBe(first + b.runs[0]!.summary!.scheduled);
  });

  it('stops a load no drill stopped once its deadline passes', async () => {
    const b = agents[1]!;
    await requestLoad(pool, { runId: 'drill-3', profile: { ratePerSec: 50, searchShare: 1, deadlineMs: 500 }, deadlineAt: new Date(Date.now() + 600) });
    await eventually(() => b.runs.length === 2, 10_000, 20);
    expect(b.runs[1]).toMatchObject({ runId: 'drill-3', end: 'expired' });
    expect((await getLoad(pool, 'drill-3'))!.state).toBe('stopped');
    expect((await drillRequestSummary(pool, 'drill-3')).requests).toBe(b.runs[1]!.summary!.scheduled);
  });
});
