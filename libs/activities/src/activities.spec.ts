// Unit tests of activities with fakes for their clients (MockActivityEnvironment from the SDK):
// heartbeats during long calls, and the idempotency a worker crash relies on.
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ReplicaInfo, ReplicaPlatform } from '@ranksafe/platform';
import { mergeAnalyses } from './gateway';
import { withHeartbeat } from './heartbeat';
import { createPlatformActivities } from './platform';
import { createSnapshotActivities, type SnapshotRegistry } from './snapshots';

const replica = (over: Partial<ReplicaInfo> = {}): ReplicaInfo => ({
  name: 'ranking-service-2',
  component: 'ranking-service',
  pid: 10,
  state: 'running',
  startedAt: new Date(1_000),
  restarts: 0,
  ...over,
});

function fakePlatform(state: ReplicaInfo) {
  const calls: string[] = [];
  let now = state;
  const p: Partial<ReplicaPlatform> = {
    get: async () => now,
    restart: async (name) => (calls.push(`restart:${name}`), (now = replica({ pid: now.pid + 1, startedAt: new Date(9_000), restarts: now.restarts + 1 }))),
    start: async (name) => (calls.push(`start:${name}`), (now = replica({ pid: now.pid + 1, startedAt: new Date(9_000), restarts: now.restarts + 1 }))),
  };
  return { platform: p as ReplicaPlatform, calls };
}

describe('activities', () => {
  it('withHeartbeat heartbeats while the work runs, and stops after', async () => {
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    let finish!: (v: string) => void;
    // The work ends once three heartbeats came: no timing assumption.
    env.on('heartbeat', (d: unknown) => {
      beats.push(d);
      if (beats.length === 3) finish('done');
    });
    const r = await env.run(() => withHeartbeat(new Promise<string>((res) => (finish = res)), 20, { step: 'x' }));
    expect(r).toBe('done');
    expect(beats[0]).toEqual({ step: 'x' });
    const n = beats.length;
    await new Promise((res) => setTimeout(res, 100));
    expect(beats.length).toBe(n);
  });

  it('restartInstance restarts a crashed replica once; run again (a retry after a worker crash) it restarts nothing', async () => {
    const { platform, calls } = fakePlatform(replica({ state: 'killed' }));
    const acts = createPlatformActivities({ platform });
    const env = new MockActivityEnvironment();
    const first = await env.run(acts.restartInstance, { name: 'ranking-service-2', sinceUnixMs: 5_000 });
    const again = await env.run(acts.restartInstance, { name: 'ranking-service-2', sinceUnixMs: 5_000 });
    expect(first).toMatchObject({ restarted: true, instance: { pid: 11, restarts: 1 } });
    expect(again).toMatchObject({ restarted: false, instance: { pid: 11, restarts: 1 } });
    expect(calls).toEqual(['start:ranking-service-2']);
  });

  it('restartInstance restarts a running replica that started before the incident (hung, not dead)', async () => {
    const { platform, calls } = fakePlatform(replica({ state: 'running', startedAt: new Date(1_000) }));
    const r: { restarted: boolean } = await new MockActivityEnvironment().run(createPlatformActivities({ platform }).restartInstance, {
      name: 'ranking-service-2',
      sinceUnixMs: 5_000,
    });
    expect(r.restarted).toBe(true);
    expect(calls).toEqual(['restart:ranking-service-2']);
  });

  it('createRegistrySnapshot returns the snapshot an earlier attempt made (same label) instead of making another', async () => {
    const created: string[] = [];
    const snaps: Array<{ id: string; label: string }> = [];
    const registry = {
      listSnapshots: async () => ({
        snapshots: snaps.map((s) => ({ ...s, createdAtUnixMs: 1, verifiedAtUnixMs: 0, rows: 1, artifacts: 0, bytes: 0, status: 'unverified' })),
        rpoMs: -1,
      }),
      createSnapshot: async (label: string) => {
        created.push(label);
        const s = { id: `snap-${created.length}`, label };
        snaps.push(s);
        return { ...s, createdAtUnixMs: 1, verifiedAtUnixMs: 0, rows: 1, artifacts: 0, bytes: 0, status: 'unverified' };
      },
      verifySnapshot: async () => {
        throw new Error('not used');
      },
    } as unknown as SnapshotRegistry;
    const acts = createSnapshotActivities({ registry });
    const env = new MockActivityEnvironment();
    const a: { id: string } = await env.run(acts.createRegistrySnapshot, { label: 'backup-snapshot-1' });
    const b: { id: string } = await env.run(acts.createRegistrySnapshot, { label: 'backup-snapshot-1' });
    expect(a.id).toBe('snap-1');
    expect(b.id).toBe('snap-1');
    expect(created).toEqual(['backup-snapshot-1']);
  });
});

describe('mergeAnalyses', () => {
  const analysis = (epoch: string, prod: number, canary: number, p99: number, compared: number, overlap: number) => ({
    epoch,
    sinceUnixMs: 1,
    nowUnixMs: 2,
    routing: undefined,
    gatewayInstance: 'g',
    variants: [
      { variant: 'production', requests: prod, errors: 0, p50Ms: 1, p95Ms: 2, p99Ms: p99, versions: ['v1'] },
      { variant: 'canary', requests: canary, errors: 1, p50Ms: 1, p95Ms: 2, p99Ms: p99 * 2, versions: ['v2'] },
    ],
    mirror: { compared, meanTop10Overlap: overlap, minTop10Overlap: overlap, meanScoreDrift: 0.1, maxScoreDrift: 0.2 },
  });
  it('adds counters, keeps the larger p99, weights the mirror means by compared requests, and notices a gateway whose epoch changed', () => {
    const m = mergeAnalyses(
      [
        { address: 'a', analysis: analysis('e1', 100, 10, 20, 30, 0.9) },
        { address: 'b', analysis: analysis('e9', 50, 5, 40, 10, 0.5) },
      ],
      { a: 'e1', b: 'e2' },
    );
    expect(m.production).toEqual({ requests: 150, errors: 0, p99Ms: 40, versions: ['v1'] });
    expect(m.canary).toMatchObject({ requests: 15, errors: 2, p99Ms: 80 });
    expect(m.mirrorCompared).toBe(40);
    expect(m.meanTop10Overlap).toBeCloseTo(0.8);
    expect(m.minTop10Overlap).toBe(0.5);
    expect(m.resetGateways).toEqual(['b']);
    expect(m.epochs).toEqual({ a: 'e1', b: 'e9' });
  });
});
