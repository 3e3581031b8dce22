// The agent's loop over a fake drill_load table and a fake sender: what it runs, what it records,
// when it stops.
import * as grpc from '@grpc/grpc-js';
import type { DrillLoad, DrillLoadState, DrillRequestRecord } from '@ranksafe/db';
import { eventually } from '@ranksafe/testing';
import { LoadAgent, rpcOf, type LoadStore } from './agent';
import type { Sender } from './gateway';

const profile = { ratePerSec: 200, searchShare: 0.75, deadlineMs: 1000 };

class FakeStore implements LoadStore {
  rows = new Map<string, DrillLoad>();
  written = new Map<string, DrillRequestRecord[]>();
  stops: string[] = [];
  failInserts = 0;
  inserts = 0;

  want(runId: string, opts: { deadlineInMs?: number; profile?: unknown } = {}): void {
    this.rows.set(runId, {
      runId,
      profile: (opts.profile ?? profile) as DrillLoad['profile'],
      state: 'wanted',
      createdAt: new Date(),
      deadlineAt: new Date(Date.now() + (opts.deadlineInMs ?? 60_000)),
      startedAt: null,
      stoppedAt: null,
      heartbeatAt: null,
      agent: {},
    });
  }
  set(runId: string, state: DrillLoadState) {
    this.rows.get(runId)!.state = state;
  }
  async nextLoad() {
    return [...this.rows.values()].reverse().find((r) => r.state !== 'stopped' && r.deadlineAt.getTime() > Date.now());
  }
  async markRunning(runId: string, agent: { pid: number; instance: string }) {
    const r = this.rows.get(runId);
    if (!r || r.state === 'stopped' || r.deadlineAt.getTime() <= Date.now()) return false;
    Object.assign(r, { state: 'running', agent });
    return true;
  }
  async heartbeat(runId: string) {
    const r = this.rows.get(runId);
    return r && { state: r.state, deadlineAt: r.deadlineAt, expired: r.deadlineAt.getTime() <= Date.now() };
  }
  async insert(runId: string, records: DrillRequestRecord[]) {
    this.inserts++;
    if (this.failInserts > 0) {
      this.failInserts--;
      throw new Error('connection refused');
    }
    this.written.set(runId, [...(this.written.get(runId) ?? []), ...records]);
  }
  async stop(runId: string) {
    this.stops.push(runId);
    const r = this.rows.get(runId);
    if (r) r.state = 'stopped';
  }
  count(runId: string) {
    return this.written.get(runId)?.length ?? 0;
  }
}

const grpcError = (code: grpc.status) => Object.assign(new Error(grpc.status[code]), { code });

describe('rpcOf', () => {
  it('sends exactly the Search share, spread over the requests', () => {
    const rpcs = Array.from({ length: 100 }, (_, i) => rpcOf(i, 0.8));
    expect(rpcs.filter((r) => r === 'search')).toHaveLength(80);
    expect(rpcs.slice(0, 10).filter((r) => r === 'search')).toHaveLength(8);
    expect(Array.from({ length: 10 }, (_, i) => rpcOf(i, 0)).every((r) => r === 'recommend')).toBe(true);
    expect(Array.from({ length: 10 }, (_, i) => rpcOf(i, 1)).every((r) => r === 'search')).toBe(true);
  });
});

describe('LoadAgent', () => {
  let store: FakeStore;
  let agent: LoadAgent | undefined;
  beforeEach(() => {
    store = new FakeStore();
  });
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
  });
  const start = (send: Sender, extra: Partial<ConstructorParameters<typeof LoadAgent>[0]> = {}) => {
    agent = new LoadAgent({ store, send, agent: { pid: 7, instance: 'load-agent' }, pollMs: 20, flushMs: 10, ...extra });
    void agent.start();
    return agent;
  };

  it('runs the wanted load, records every request (rpc, status, degraded), and stops when the row says stopped', async () => {
    let n = 0;
    const seen: Array<{ rpc: string; deadlineMs: number; requestId: string }> = [];
    const a = start(async (rpc, o) => {
      seen.push({ rpc, ...o });
      const k = n++;
      if (k % 10 === 3) throw grpcError(grpc.status.UNAVAILABLE);
      return { degraded: k % 10 === 5 };
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual([]); // nothing wanted yet
    store.want('r1');
    await eventually(() => store.count('r1') >= 40, 5000, 10);
    expect(store.rows.get('r1')).toMatchObject({ state: 'running', agent: { pid: 7, instance: 'load-agent' } });
    store.set('r1', 'stopped');
    await eventually(() => a.runs.length === 1, 5000, 10);
    expect(a.runs[0]).toMatchObject({ runId: 'r1', end: 'stopped' });
    const written = store.written.get('r1')!;
    // Every request the run scheduled was written, each once.
    expect(written).toHaveLength(a.runs[0]!.summary!.scheduled);
    expect(written.filter((r) => r.status === 'UNAVAILABLE').length).toBe(a.runs[0]!.summary!.failed.UNAVAILABLE);
    expect(written.filter((r) => r.degraded).length).toBe(a.runs[0]!.summary!.degraded);
    expect(written.every((r) => typeof r.at === 'number' && r.latencyMs >= 0)).toBe(true);
    expect(seen.every((s) => s.deadlineMs === 1000 && /^drill-load-r1-\d+$/.test(s.requestId))).toBe(true);
    const searches = written.filter((r) => r.rpc === 'search').length;
    expect(Math.abs(searches / written.length - 0.75)).toBeLessThan(0.05);
    expect(store.stops).toEqual([]); // a drill's stop is the drill's
    // Idle again: a next load is picked up.
    store.want('r2');
    await eventually(() => store.count('r2') > 0, 5000, 10);
  });

  it('stops by itself past the deadline (TTL) and marks the load stopped', async () => {
    store.want('r1', { deadlineInMs: 300 });
    const a = start(async () => ({ degraded: false }));
    await eventually(() => a.runs.length === 1, 5000, 10);
    expect(a.runs[0]!.end).toBe('expired');
    expect(store.stops).toEqual(['r1']);
    expect(store.rows.get('r1')!.state).toBe('stopped');
    expect(store.count('r1')).toBe(a.runs[0]!.summary!.scheduled);
  });

  it('on stop (SIGTERM) stops sending, writes what was sent and leaves the load to the next agent', async () => {
    store.want('r1');
    const a = start(async () => {
      await new Promise((r) => setTimeout(r, 30));
      return { degraded: false };
    });
    await eventually(() => store.count('r1') > 10, 5000, 10);
    await a.stop();
    expect(a.runs[0]!.end).toBe('shutdown');
    expect(store.count('r1')).toBe(a.runs[0]!.summary!.scheduled);
    expect(store.rows.get('r1')!.state).toBe('running');
    expect(store.stops).toEqual([]);
  });

  it('keeps the records a failed write could not take and writes them on the next flush', async () => {
    store.want('r1');
    store.failInserts = 3;
    const a = start(async () => ({ degraded: false }));
    await eventually(() => store.inserts > 3 && store.count('r1') > 0, 5000, 10);
    store.set('r1', 'stopped');
    await eventually(() => a.runs.length === 1, 5000, 10);
    const written = store.written.get('r1')!;
    expect(written).toHaveLength(a.runs[0]!.summary!.scheduled);
    expect(new Set(written).size).toBe(written.length); // nothing written twice
  });

  it('records a request due while maxInFlight are outstanding as DROPPED', async () => {
    store.want('r1');
    const a = start(() => new Promise((r) => setTimeout(() => r({ degraded: false }), 100)), { maxInFlight: 2 });
    await eventually(() => (store.written.get('r1') ?? []).some((r) => r.status === 'DROPPED'), 5000, 10);
    store.set('r1', 'stopped');
    await eventually(() => a.runs.length === 1, 5000, 10);
    const dropped = store.written.get('r1')!.filter((r) => r.status === 'DROPPED');
    expect(dropped.length).toBe(a.runs[0]!.summary!.dropped);
    expect(dropped.every((r) => r.latencyMs === 0 && !r.degraded)).toBe(true);
  });

  it('stops a load whose profile is invalid instead of running it', async () => {
    store.want('bad', { profile: { ratePerSec: -1 } });
    const send = jest.fn(async () => ({ degraded: false }));
    const a = start(send);
    await eventually(() => a.runs.length === 1, 5000, 10);
    expect(a.runs[0]).toMatchObject({ runId: 'bad', end: 'invalid' });
    expect(store.rows.get('bad')!.state).toBe('stopped');
    expect(send).not.toHaveBeenCalled();
  });

  it('waits out a database that cannot be read, then runs the load', async () => {
    let fail = 3;
    const next = store.nextLoad.bind(store);
    store.nextLoad = async () => {
      if (fail-- > 0) throw new Error('ECONNREFUSED');
      return next();
    };
    store.want('r1');
    const warnings: string[] = [];
    start(async () => ({ degraded: false }), { log: { info: () => undefined, warn: (_o, m) => warnings.push(m), error: () => undefined } });
    await eventually(() => store.count('r1') > 0, 5000, 10);
    expect(warnings.filter((w) => /cannot read drill_load/.test(w))).toHaveLength(3);
  });
});
