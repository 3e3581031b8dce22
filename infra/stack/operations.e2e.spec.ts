// The cold path on the real stack (npm start: 2 replicas per tier, Temporal dev server, Postgres,
// the drill-worker), under steady open-loop Search traffic: a good model rolled out to every
// replica, the drill-worker SIGKILLed in the middle of a Rollout, and a second sequential recommender
// canaried on Recommend's sequential path and promoted under Recommend traffic. (What the catalog rehearses
// lives once, as drills in drills.e2e.spec.ts: kill -9 of a replica detected and recovered, a bad
// model stopped by the gate or caught by the canary analysis and rolled back, the drill-worker
// SIGKILLed mid-recovery.) Figures are printed, not asserted
// (the machines are noisy); what clients saw and what the step log says are asserted.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Client, Connection, WorkflowIdReusePolicy } from '@temporalio/client';
import { createPool, listSteps } from '@ranksafe/db';
import { openLoop, type LoadRun } from '@ranksafe/loadgen';
import { PlatformClient, trainLightRecommender, WORKSPACE_ROOT } from '@ranksafe/platform';
import { RankingClient, RecommendRequest, SearchClient, SearchRequest } from '@ranksafe/proto';
import { RegistryClient } from '@ranksafe/registry-client';
import { readIndexCatalog, resolveIndexDir } from '@ranksafe/retrieval-core';
import { adminMetadata, unaryCall } from '@ranksafe/serving-kit';
import { eventually } from '@ranksafe/testing';
import { ids, modelRolloutWorkflow, rolloutStatusQuery, SA, type RolloutInput, type RolloutResult } from '@ranksafe/workflows';
import { testStack, type TestStack } from './harness';

const MODEL = 'minilm-l6-v2';
/** The demo's sequential recommender (npm start trains and registers it). */
const REC = 'seqrec-demo';
const RATE = 10; // req/s: about half of what this 2-core machine serves with the whole stack on it (tools/bench/e2e.ts)
const QUERIES = ['oak table', 'garden chair', 'led lamp', 'wool rug', 'office desk', 'velvet sofa', 'bookshelf', 'wall mirror'];
/**
 * Short windows: this proves the mechanics on the real stack. The ML checks (overlap, drift) are as
 * shipped; latency and error thresholds are wider, because `npm test` runs this beside other suites
 * on 2 cores, where a healthy canary's mirrored calls can miss their deadline.
 */
const FAST: RolloutInput['strategy'] = {
  analysis: { windowMs: 8000, intervalMs: 2000, warmupMs: 2500, minRequests: 10, minMirrored: 5, p99SlackMs: 250, maxP99Ratio: 4, maxErrorRate: 0.05 },
};
/** The crash test is about durability, not judgement: a worker restart (bundling its workflows) loads the box further. */
const TOLERANT: RolloutInput['strategy'] = { analysis: { ...FAST.analysis, maxErrorRate: 0.25, failureLimit: 3 } };

interface Answer {
  atMs: number;
  status: string;
  version?: string;
  variant?: string;
  degraded?: boolean;
}

describe('operations on the real stack under load', () => {
  let stack: TestStack;
  let temporal: Client;
  let conn: Connection;
  let platform: PlatformClient;
  let registry: RegistryClient;
  let pool: ReturnType<typeof createPool>;
  let search: SearchClient;
  const versions: Record<string, string> = {};
  const figures: string[] = [];

  beforeAll(async () => {
    stack = await testStack('ops', { MONITORS: 'on' });
    await stack.start();
    const token = stack.adminToken();
    conn = await Connection.connect({ address: `127.0.0.1:${stack.base + 6}` });
    temporal = new Client({ connection: conn });
    platform = new PlatformClient(`127.0.0.1:${stack.base + 8}`, token);
    registry = new RegistryClient(`127.0.0.1:${stack.base + 5}`, { token, actor: 'e2e' });
    pool = createPool(stack.env.DATABASE_URL!, { max: 2 });
    search = new SearchClient(`127.0.0.1:${stack.base}`, grpc.credentials.createInsecure());
    versions.int8 = await registry.aliasVersion(MODEL, 'production');
    // The candidate, published as an operator would: the fp32 build of the served model.
    for (const [key, dir, variant] of [['fp32', 'models/minilm-l6-v2', 'fp32']] as const) {
      const r = stack.ops('model', 'publish', path.join(WORKSPACE_ROOT, dir), '--variant', variant);
      expect([r.status, r.stderr]).toEqual([0, expect.stringMatching(/^bundling \d+ files/)]);
      versions[key] = new RegExp(`(${variant}-[0-9a-f]{12})`).exec(r.stdout)![1]!;
    }
  }, 300_000);
  afterAll(async () => {
    console.log(`operations e2e (open loop ${RATE}/s Search, 2 replicas per tier):\n  ${figures.join('\n  ')}`);
    search?.close();
    registry?.close();
    platform?.close();
    await pool?.end();
    await conn?.close();
    await stack?.teardown();
  });

  /**
   * Open-loop Search at RATE/s, every answer kept with the version and variant that ranked it.
   * First the stack is warm (the very first requests after a start can miss the gateway's retrieval
   * budget; that is not what is measured).
   */
  async function load(): Promise<{ run: LoadRun; answers: Answer[] }> {
    await stack.steadySearch();
    const answers: Answer[] = [];
    let n = 0;
    const t0 = Date.now();
    const run = openLoop({
      ratePerSec: RATE,
      durationMs: 3_600_000,
      request: async () => {
        const r = await unaryCall(search.search.bind(search), SearchRequest.fromPartial({ query: QUERIES[n++ % QUERIES.length]!, k: 10 }), {
          deadlineMs: 5000,
        });
        answers.push({ atMs: Date.now() - t0, status: 'OK', version: r.rankingModel?.version, variant: r.variant, degraded: r.degraded });
        return r;
      },
      classify: (r: { degraded: boolean }) => ({ degraded: r.degraded }),
      onRecord: (rec) => {
        if (rec.status !== 'OK') answers.push({ atMs: Date.now() - t0, status: rec.status });
      },
    });
    return { run, answers };
  }

  async function finish(l: { run: LoadRun; answers: Answer[] }) {
    l.run.stop();
    const s = await l.run.done;
    return { sent: s.sent, failed: s.failedTotal, degraded: s.degraded, errors: s.errorSamples };
  }

  async function rollout(version: string, strategy: RolloutInput['strategy'] = FAST) {
    return temporal.workflow.start(modelRolloutWorkflow, {
      taskQueue: 'ranksafe-drills',
      workflowId: ids.rollout(MODEL),
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      args: [{ model: MODEL, version, strategy, reason: 'e2e' }],
    });
  }

  /** Each ranking replica's loaded versions of one model (default: the search model). */
  async function replicaModels(name = MODEL) {
    const out: Record<string, Array<{ version: string; isDefault: boolean }>> = {};
    for (const r of await platform.list({ component: 'ranking-service' })) {
      const c = new RankingClient(r.address!, grpc.credentials.createInsecure());
      try {
        const { models } = await unaryCall(c.listModels.bind(c), {}, { metadata: adminMetadata(new grpc.Metadata(), stack.adminToken()), deadlineMs: 5000 });
        // One model's versions (the demo's sequential recommender is served beside the search model; each rollout touches its own).
        out[r.name] = models.filter((m) => m.model!.name === name).map((m) => ({ version: m.model!.version, isDefault: m.isDefault }));
      } finally {
        c.close();
      }
    }
    return out;
  }

  /** Every step of a workflow run written once: a retried activity after a crash does not redo a completed step. */
  async function repeatedSteps(workflowId: string, runId: string) {
    const steps = (await listSteps(pool, workflowId, runId)).filter((s) => s.state === 'completed');
    return { completed: steps.map((s) => s.step), repeated: steps.filter((s) => s.writes > 1).map((s) => s.step) };
  }

  it('rolls a good model (fp32 build) out to every replica, step by step, with 0 failed requests', async () => {
    const l = await load();
    const h = await rollout(versions.fp32!);
    const result: RolloutResult = await h.result();
    const seen = await finish(l);
    figures.push(
      `good rollout: ${result.outcome} in ${((result.endedAtUnixMs - result.startedAtUnixMs) / 1000).toFixed(1)} s; ${seen.sent} requests, ${seen.failed} failed, ${seen.degraded} degraded; gate ndcg@10 ${result.quality?.candidate} vs ${result.quality?.production}`,
    );
    expect(result.outcome).toBe('succeeded');
    expect(seen.errors).toEqual([]);
    expect(seen.failed).toBe(0);
    expect(result.analyses.map((a) => [a.weight, a.outcome])).toEqual([
      [0.1, 'passed'],
      [0.5, 'passed'],
      [1, 'passed'],
    ]);
    expect(await registry.aliasVersion(MODEL, 'production')).toBe(versions.fp32);
    expect(await registry.aliasVersion(MODEL, 'previous')).toBe(versions.int8);
    // Load-before-unload done on both replicas: the candidate is the default and the old version is gone.
    expect(await replicaModels()).toEqual({
      'ranking-service-1': [{ version: versions.fp32, isDefault: true }],
      'ranking-service-2': [{ version: versions.fp32, isDefault: true }],
    });
    // Clients saw the canary share grow: some answers by the candidate as canary, the last ones by it as production.
    expect(l.answers.some((a) => a.variant === 'canary' && a.version === versions.fp32)).toBe(true);
    const after = await unaryCall(search.search.bind(search), SearchRequest.fromPartial({ query: 'oak table', k: 5 }), { deadlineMs: 5000 });
    expect(after.rankingModel?.version).toBe(versions.fp32);
    const desc = await h.describe();
    expect(desc.typedSearchAttributes.get(SA.OperationState)).toBe('succeeded');
    // What an operator reads afterwards: the last run's result, through the ops CLI.
    const viaOps = stack.ops('rollout', 'status', MODEL);
    expect([viaOps.status, viaOps.stderr]).toEqual([0, '']);
    expect(viaOps.stdout).toMatch(/succeeded/);
    expect(viaOps.stdout).toContain(versions.fp32);
    expect(String(desc.memo?.summary)).toMatch(/is production on 2 replicas/);
    expect((await repeatedSteps(h.workflowId, h.firstExecutionRunId)).completed).toEqual(
      expect.arrayContaining(['plan', 'quality gate', 'snapshot registry', 'move production alias', 'default on ranking-service-2']),
    );
  }, 600_000);

  it('canaries a second sequential recommender on the sequential path under Recommend load and promotes it, search untouched', async () => {
    // The candidate: the demo's numpy recommender retrained on the served catalog's histories with another seed.
    const indexDir = resolveIndexDir(path.join(stack.dataDir, 'indexes', 'demo'));
    const users = readIndexCatalog(indexDir).users.filter((u) => u.items.length >= 3);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seqrec-candidate-'));
    try {
      fs.writeFileSync(path.join(tmp, 'histories.txt'), users.map((u) => `${u.userId} ${u.items.map((i) => i.id).join(' ')}`).join('\n') + '\n');
      expect(
        trainLightRecommender({ data: path.join(tmp, 'histories.txt'), out: path.join(tmp, 'bundle'), name: REC, seed: 7, maxSeconds: 20 }),
      ).toBeUndefined();
      const published = stack.ops('model', 'publish', path.join(tmp, 'bundle'), '--variant', 'fp32');
      expect(published.status).toBe(0);
      const candidate = /(fp32-[0-9a-f]{12})/.exec(published.stdout)![1]!;
      const production = await registry.aliasVersion(REC, 'production');
      expect(candidate).not.toBe(production);

      // Recommend for shoppers' sessions through the whole rollout: every answer kept with the model that gave it.
      const answers: Array<{ status: string; path?: string; version?: string; variant?: string }> = [];
      let n = 0;
      const run = openLoop({
        ratePerSec: 8,
        durationMs: 3_600_000,
        request: async () => {
          const r = await unaryCall(
            search.recommend.bind(search),
            RecommendRequest.fromPartial({ subject: { $case: 'userId', value: users[n++ % users.length]!.userId }, k: 10 }),
            { deadlineMs: 5000 },
          );
          answers.push({ status: 'OK', path: r.path, version: r.rankingModel?.version, variant: r.variant });
          return r;
        },
        onRecord: (rec) => {
          if (rec.status !== 'OK') answers.push({ status: rec.status });
        },
      });
      let result: RolloutResult;
      try {
        await eventually(() => answers.length >= 10, 30_000);
        const h = await temporal.workflow.start(modelRolloutWorkflow, {
          taskQueue: 'ranksafe-drills',
          workflowId: ids.rollout(REC),
          workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
          args: [{ model: REC, version: candidate, strategy: { ...FAST, steps: [{ weight: 0.5 }, { weight: 1 }] }, reason: 'e2e: recommender' }],
        });
        result = await h.result();
        const at = answers.length;
        await eventually(() => answers.length >= at + 10, 30_000);
      } finally {
        run.stop();
      }
      const summary = await run.done;
      const byCanary = answers.filter((a) => a.variant === 'canary');
      figures.push(
        `recommender rollout: ${result.outcome} in ${((result.endedAtUnixMs - result.startedAtUnixMs) / 1000).toFixed(1)} s; gate ${result.quality?.metric} ${result.quality?.candidate} vs ${result.quality?.production} over ${result.quality?.queries} histories; steps ${result.analyses.map((a) => `${a.weight * 100}% ${a.outcome} (${JSON.stringify(a.measurements.at(-1)?.samples)})`).join(', ')}; ${summary.sent} Recommend (${byCanary.length} by the canary split), ${summary.failedTotal} failed`,
      );
      expect(result.outcome).toBe('succeeded');
      expect(result.quality).toMatchObject({ metric: 'next-item ndcg@10', passed: true });
      expect(result.analyses.map((a) => [a.weight, a.outcome])).toEqual([
        [0.5, 'passed'],
        [1, 'passed'],
      ]);
      // The split answered with the candidate, the rest with production, both on the sequential path.
      expect(byCanary.length).toBeGreaterThan(0);
      expect(byCanary.every((a) => a.version === candidate)).toBe(true);
      expect(answers.filter((a) => a.variant === 'production' && a.status === 'OK').every((a) => a.version === production || a.version === candidate)).toBe(
        true,
      );
      expect(summary.failedTotal).toBe(0);
      expect(await registry.aliasVersion(REC, 'production')).toBe(candidate);
      expect(await registry.aliasVersion(REC, 'previous')).toBe(production);
      // Answered by the sequential model throughout, by the candidate at the end.
      expect(answers.filter((a) => a.status === 'OK').every((a) => a.path === 'sequential')).toBe(true);
      expect(answers.slice(-5).map((a) => a.version)).toEqual(Array(5).fill(candidate));
      expect(await replicaModels(REC)).toEqual({
        'ranking-service-1': [{ version: candidate, isDefault: true }],
        'ranking-service-2': [{ version: candidate, isDefault: true }],
      });
      const after = await unaryCall(search.search.bind(search), SearchRequest.fromPartial({ query: 'oak table', k: 5 }), { deadlineMs: 5000 });
      expect(after).toMatchObject({ degraded: false, rankingModel: { name: MODEL } });
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('finishes a Rollout whose drill-worker was SIGKILLed mid-canary, without repeating a completed step', async () => {
    const l = await load();
    const h = await rollout(versions.int8!, TOLERANT);
    await eventually(async () => (await h.query(rolloutStatusQuery)).phase === 'canary', 300_000, 200);
    await platform.kill('drill-worker', 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    await platform.start('drill-worker');
    const result = await h.result();
    const seen = await finish(l);
    const steps = await repeatedSteps(h.workflowId, h.firstExecutionRunId);
    figures.push(
      `rollout with the worker killed mid-canary: ${result.outcome}${result.reason ? ` (${result.reason})` : ''}; repeated steps: ${steps.repeated.join(', ') || 'none'}; ${seen.failed} failed`,
    );
    expect(result.outcome).toBe('succeeded');
    expect(steps.repeated).toEqual([]);
    expect(steps.completed.filter((s) => s === 'move production alias')).toHaveLength(1);
    // Failed requests are reported, not asserted, here: a worker crash does not touch serving, but this
    // test runs beside other suites on 2 cores, where a restarting worker can push a request past its deadline.
    expect(await registry.aliasVersion(MODEL, 'production')).toBe(versions.int8);
  }, 600_000);
});
