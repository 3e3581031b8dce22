// ModelRollout on the Java time-skipping test server with fake activities over a small fake world
// (two ranking replicas, one gateway, a registry with aliases): the happy path and its step log,
// every way it rolls back (quality gate, error rate, p99, too few samples, alias conflict, abort,
// workflow cancel), a failing promotion step undone in reverse, an incomplete rollback, freeze,
// pause/resume, the manual approval gate, an index canary, and bad input.
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { Activities, AnalysisSummary, RolloutPlan } from '@ranksafe/activities';
import type { StepRecord } from '@ranksafe/db';
import { recordHistory, temporalTimeSkippingEnv } from '@ranksafe/testing';
import { workflowBundlerOptions } from '@ranksafe/platform';
import {
  abortSignal,
  approveSignal,
  freezeSignal,
  modelRolloutWorkflow,
  pauseSignal,
  resumeSignal,
  rolloutStatusQuery,
  SA,
  type RolloutInput,
  type RolloutResult,
  type RolloutStatus,
} from '../index';

const FAST = { analysis: { windowMs: 10_000, intervalMs: 5_000, warmupMs: 1_000 } };
const input = (over: Partial<RolloutInput> = {}): RolloutInput => ({ model: 'minilm', version: 'v2', strategy: FAST, ...over });

interface World {
  aliases: Record<string, string>;
  loaded: Record<string, string[]>;
  defaults: Record<string, string>;
  routing: { canaryVersion: string; weight: number; mirrorRate: number };
  index: Record<string, string>;
  calls: string[];
  steps: StepRecord[];
  ops: string[];
}

function world(): World {
  return {
    aliases: { production: 'v1', previous: 'v0' },
    loaded: { 'r1:1': ['v1'], 'r2:1': ['v1'] },
    defaults: { 'r1:1': 'v1', 'r2:1': 'v1' },
    routing: { canaryVersion: '', weight: 0, mirrorRate: 0 },
    index: { 'x1:1': 'i1', 'x2:1': 'i1' },
    calls: [],
    steps: [],
    ops: [],
  };
}

/** What the gateways would count at the current split: healthy by default. */
function summary(
  w: World,
  over: { canaryErrors?: number; canaryP99?: number; requests?: number; overlap?: number } = {},
): AnalysisSummary & { routedBy: number } {
  const n = over.requests ?? 400;
  const canary = Math.round(n * w.routing.weight);
  const mirror = Math.round((n - canary) * w.routing.mirrorRate);
  const v = (requests: number, p99Ms: number, errors = 0) => ({ requests, errors, p99Ms, versions: [] });
  return {
    epochs: { 'g:1': 'e1' },
    sinceUnixMs: 1,
    nowUnixMs: 2,
    production: v(n - canary, 20),
    canary: v(canary, over.canaryP99 ?? 25, over.canaryErrors ?? 0),
    mirror: v(mirror, 25),
    mirrorCompared: mirror,
    meanTop10Overlap: over.overlap ?? 0.9,
    minTop10Overlap: 0.7,
    meanScoreDrift: 0.05,
    maxScoreDrift: 0.1,
    resetGateways: [],
    routedBy: 1,
  };
}

function fakes(w: World, over: Partial<Activities> = {}): Partial<Activities> {
  const plan: RolloutPlan = {
    tier: 'ranking-service',
    productionVersion: w.aliases.production!,
    previousAlias: w.aliases.previous!,
    candidateSha256: 'abc',
    replicas: [
      { name: 'r1', address: 'r1:1' },
      { name: 'r2', address: 'r2:1' },
    ],
    gateways: ['g:1'],
  };
  return {
    recordStep: async (s) => void w.steps.push(s),
    recordOperation: async (o) => void (o.kind === 'rollout' && w.ops.push(o.state)),
    planRollout: async ({ kind }) =>
      kind === 'CATALOG_INDEX'
        ? {
            ...plan,
            tier: 'retrieval-service',
            replicas: [
              { name: 'x1', address: 'x1:1' },
              { name: 'x2', address: 'x2:1' },
            ],
          }
        : plan,
    evaluateQuality: async ({ candidate, production }) => (
      w.calls.push('quality'),
      {
        metric: 'ndcg@10',
        index: { name: 'demo', version: 'i1' },
        candidate: { version: candidate, sha256: 'c', ndcg: 0.95, queries: 60, loadMs: 10, evalMs: 10 },
        production: { version: production, sha256: 'p', ndcg: 0.96, queries: 60, loadMs: 10, evalMs: 10 },
      }
    ),
    createRegistrySnapshot: async ({ label }) => (
      w.calls.push('snapshot'),
      { id: 'snap-1', label, status: 'unverified', createdAtUnixMs: 1, verifiedAtUnixMs: 0, rows: 1, artifacts: 1, bytes: 1 }
    ),
    verifyRegistrySnapshot: async ({ id }) => ({ id, label: '', status: 'verified', createdAtUnixMs: 1, verifiedAtUnixMs: 2, rows: 1, artifacts: 1, bytes: 1 }),
    registryRpo: async () => ({ rpoMs: 10, snapshots: 1 }),
    openRecoveries: async () => [],
    loadCandidate: async ({ address, version }) => {
      w.calls.push(`load:${address}:${version}`);
      if (!w.loaded[address]!.includes(version)) w.loaded[address]!.push(version);
      return { version, alreadyLoaded: false, warmupMs: 5, sha256: 'c' };
    },
    unloadVersion: async ({ address, version }) => {
      w.calls.push(`unload:${address}:${version}`);
      w.loaded[address] = w.loaded[address]!.filter((v) => v !== version);
      return { unloaded: true };
    },
    ensureLoaded: async () => ({ reloaded: [] }),
    setReplicaDefault: async ({ address, version }) => {
      w.calls.push(`default:${address}:${version}`);
      const previousVersion = w.defaults[address]!;
      w.defaults[address] = version;
      return { previousVersion };
    },
    setCanaryRouting: async ({ canaryVersion, weight, mirrorRate }) => {
      w.calls.push(`route:${canaryVersion || '-'}:${weight}`);
      w.routing = { canaryVersion, weight, mirrorRate };
      return { modelName: 'minilm', canaryVersion, canaryWeight: weight, mirrorRate, revision: 1 };
    },
    resetCanaryAnalysis: async () => ({ 'g:1': 'e1' }),
    readCanaryAnalysis: async () => summary(w),
    moveAlias: async ({ alias, version, expectedVersion }) => {
      w.calls.push(`alias:${alias}:${version}`);
      if ((w.aliases[alias] ?? '') !== expectedVersion) {
        throw ApplicationFailure.create({ type: 'AliasConflict', nonRetryable: true, message: `${alias} points at ${w.aliases[alias]}` });
      }
      w.aliases[alias] = version;
      return { moved: true };
    },
    loadReplicaIndex: async ({ address, version }) => {
      w.calls.push(`index:${address}:${version}`);
      w.index[address] = version;
      return { version, products: 10, alreadyLoaded: false };
    },
    compareIndexReplicas: async () => ({
      requests: 30,
      canary: { errors: 0, p99Ms: 10 },
      baseline: { errors: 0, p99Ms: 9 },
      compared: 30,
      meanTop10Overlap: 0.8,
    }),
    ...over,
  };
}

describe('modelRolloutWorkflow', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await temporalTimeSkippingEnv();
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });

  async function run(
    acts: Partial<Activities>,
    args: unknown,
    o: { history?: string; workflowId?: string; during?: (h: { id: string }) => Promise<void> } = {},
  ): Promise<{ result?: RolloutResult; error?: Error; status?: RolloutStatus; sa: (k: (typeof SA)[keyof typeof SA]) => unknown; memo: string }> {
    const taskQueue = `rollout-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../index'),
      bundlerOptions: workflowBundlerOptions(),
      activities: acts,
    });
    return worker.runUntil(async () => {
      const h = await env.client.workflow.start(modelRolloutWorkflow, {
        taskQueue,
        workflowId: o.workflowId ?? o.history ?? `rollout-test-${randomUUID()}`,
        args: [args as RolloutInput],
      });
      if (o.during) await o.during({ id: h.workflowId });
      let result: RolloutResult | undefined;
      let error: Error | undefined;
      try {
        result = await h.result();
      } catch (e) {
        error = e as Error;
      }
      if (o.history) await recordHistory(h, o.history);
      const desc = await h.describe();
      return {
        result,
        error,
        status: await h.query(rolloutStatusQuery).catch(() => undefined),
        sa: (k) => desc.typedSearchAttributes.get(k as never),
        memo: String(desc.memo?.summary ?? ''),
      };
    });
  }

  const signal = (id: string) => env.client.workflow.getHandle(id);
  const failure = (e?: Error) => (e as WorkflowFailedError).cause as ApplicationFailure;

  it('validates, snapshots, canaries 10% → 50% → 100%, promotes with CAS, switches every replica and unloads the old version', async () => {
    const w = world();
    const r = await run(fakes(w), input({ reason: 'better recall' }), { history: 'rollout-succeeded' });
    expect(r.error).toBeUndefined();
    expect(r.result).toMatchObject({ outcome: 'succeeded', version: 'v2', previousVersion: 'v1', snapshotId: 'snap-1' });
    expect(r.result!.quality).toMatchObject({ candidate: 0.95, production: 0.96, passed: true, queries: 60 });
    expect(r.result!.analyses.map((a) => [a.weight, a.outcome])).toEqual([
      [0.1, 'passed'],
      [0.5, 'passed'],
      [1, 'passed'],
    ]);
    expect(r.result!.analyses[0]!.measurements[0]!.metrics.map((m) => m.metric)).toEqual(['error-rate', 'p99', 'top10-overlap', 'score-drift']);
    expect(w.calls).toEqual([
      'quality',
      'snapshot',
      'load:r1:1:v2',
      'load:r2:1:v2',
      'route:v2:0.1',
      'route:v2:0.5',
      'route:v2:1',
      'alias:production:v2',
      'alias:previous:v1',
      'default:r1:1:v2',
      'default:r2:1:v2',
      'route:-:0',
      'unload:r1:1:v1',
      'unload:r2:1:v1',
    ]);
    expect(w.aliases).toEqual({ production: 'v2', previous: 'v1' });
    expect(w.defaults).toEqual({ 'r1:1': 'v2', 'r2:1': 'v2' });
    expect(w.loaded).toEqual({ 'r1:1': ['v2'], 'r2:1': ['v2'] });
    expect(w.ops).toEqual(['running', 'succeeded']);
    expect(w.steps.filter((s) => s.state === 'completed').map((s) => s.step)).toEqual(
      expect.arrayContaining(['plan', 'quality gate', 'snapshot registry', 'canary 10%', 'analysis step 3', 'move production alias', 'default on r2']),
    );
    expect(r.sa(SA.OperationState)).toBe('succeeded');
    expect(r.sa(SA.ModelVersion)).toBe('v2');
    expect(r.memo).toMatch(/v2 is production on 2 replicas \(was v1\); ndcg@10 0.95 vs 0.96/);
  });

  it('canaries a sequential recommender on a split of the sequential path (no mirror) after its quality gate, and promotes it', async () => {
    const w = world();
    const gateOf = (candidate: number) => async () => ({
      metric: 'next-item ndcg@10',
      index: { name: 'demo', version: 'i1' },
      candidate: { version: 'v2', sha256: 'c', ndcg: candidate, queries: 2000, loadMs: 1, evalMs: 1 },
      production: { version: 'v1', sha256: 'p', ndcg: 0.42, queries: 2000, loadMs: 1, evalMs: 1 },
    });
    const splits: Array<{ kind?: string; mirrorRate: number }> = [];
    const recommender = (acts: Partial<Activities>): Partial<Activities> => ({
      ...acts,
      planRollout: async (i) => ({ ...(await acts.planRollout!(i)), modelKind: 'sequential-recommender' }),
      setCanaryRouting: async (i) => (splits.push({ kind: i.modelKind, mirrorRate: i.mirrorRate }), acts.setCanaryRouting!(i)),
    });
    const r = await run(recommender(fakes(w, { evaluateQuality: gateOf(0.44) })), input({ model: 'seqrec-demo' }), {
      history: 'rollout-recommender-canary',
    });
    expect(r.error).toBeUndefined();
    expect(r.result).toMatchObject({ outcome: 'succeeded' });
    expect(r.result!.quality).toMatchObject({ metric: 'next-item ndcg@10', candidate: 0.44, production: 0.42, queries: 2000, passed: true });
    expect(r.result!.analyses.map((a) => [a.weight, a.outcome])).toEqual([
      [0.1, 'passed'],
      [0.5, 'passed'],
      [1, 'passed'],
    ]);
    // No mirror: the analysis judges errors and latency only.
    expect(r.result!.analyses[0]!.measurements[0]!.metrics.map((m) => m.metric)).toEqual(['error-rate', 'p99']);
    expect(w.calls).toEqual([
      'snapshot',
      'load:r1:1:v2',
      'load:r2:1:v2',
      'route:v2:0.1',
      'route:v2:0.5',
      'route:v2:1',
      'alias:production:v2',
      'alias:previous:v1',
      'default:r1:1:v2',
      'default:r2:1:v2',
      'route:-:0',
      'unload:r1:1:v1',
      'unload:r2:1:v1',
    ]);
    expect(splits).toEqual(Array(4).fill({ kind: 'sequential-recommender', mirrorRate: 0 }));
    expect(r.memo).toMatch(/next-item ndcg@10 0.44 vs 0.42/);

    const w2 = world();
    const bad = await run(recommender(fakes(w2, { evaluateQuality: gateOf(0.1) })), input({ model: 'seqrec-demo' }));
    expect(bad.result).toMatchObject({
      outcome: 'rolled-back',
      reason: expect.stringMatching(/next-item ndcg@10 0.1 < production 0.42 − 0.02 over 2000 held-out histories/),
    });
    expect(w2.calls).toEqual([]);

    // A recommender whose canary fails on the sequential path is rolled back: its split off, candidate unloaded.
    const w3 = world();
    const failing = await run(
      recommender(fakes(w3, { evaluateQuality: gateOf(0.44), readCanaryAnalysis: async () => summary(w3, { canaryErrors: 40 }) })),
      input({ model: 'seqrec-demo' }),
    );
    expect(failing.result).toMatchObject({ outcome: 'rolled-back', reason: expect.stringMatching(/error-rate failed 2× at 10%/) });
    expect(w3.calls.slice(-3)).toEqual(['route:-:0', 'unload:r2:1:v2', 'unload:r1:1:v2']);
    expect(w3.aliases).toEqual({ production: 'v1', previous: 'v0' });
  });

  it('a candidate failing the quality gate is rolled back before it touches anything', async () => {
    const w = world();
    const acts = fakes(w, {
      evaluateQuality: async () => ({
        metric: 'ndcg@10',
        index: { name: 'demo', version: 'i1' },
        candidate: { version: 'v2', sha256: 'c', ndcg: 0.57, queries: 60, loadMs: 1, evalMs: 1 },
        production: { version: 'v1', sha256: 'p', ndcg: 0.96, queries: 60, loadMs: 1, evalMs: 1 },
      }),
    });
    const r = await run(acts, input());
    expect(r.result).toMatchObject({ outcome: 'rolled-back', reason: expect.stringMatching(/quality gate failed: ndcg@10 0.57 < production 0.96/) });
    expect(w.calls).toEqual([]);
    expect(r.sa(SA.OperationState)).toBe('rolled-back');
  });

  it('a canary whose error rate breaks the threshold at 50% is rolled back: traffic first, then the candidate unloaded, aliases untouched', async () => {
    const w = world();
    const acts = fakes(w, { readCanaryAnalysis: async () => summary(w, w.routing.weight >= 0.5 ? { canaryErrors: 40 } : {}) });
    const r = await run(acts, input(), { history: 'rollout-rolled-back' });
    expect(r.result).toMatchObject({ outcome: 'rolled-back', reason: expect.stringMatching(/canary analysis failed: error-rate failed 2× at 50%/) });
    expect(r.result!.rollbackMs).toEqual(expect.any(Number));
    expect(r.result!.analyses.map((a) => a.outcome)).toEqual(['passed', 'failed']);
    expect(w.calls.slice(-3)).toEqual(['route:-:0', 'unload:r2:1:v2', 'unload:r1:1:v2']);
    expect(w.aliases).toEqual({ production: 'v1', previous: 'v0' });
    expect(w.defaults).toEqual({ 'r1:1': 'v1', 'r2:1': 'v1' });
    expect(r.status?.compensations.map((c) => c.step)).toEqual(['traffic back to production', 'unload candidate from r2', 'unload candidate from r1']);
    expect(w.steps.map((s) => `${s.step}:${s.state}`)).toEqual(
      expect.arrayContaining(['analysis step 2:failed', 'undo: traffic back to production:compensated']),
    );
    expect(r.memo).toMatch(/ROLLED BACK .*3 step\(s\) undone/);
  });

  it('latency injected into the canary fails the p99 check', async () => {
    const w = world();
    const r = await run(fakes(w, { readCanaryAnalysis: async () => summary(w, { canaryP99: 250 }) }), input());
    expect(r.result).toMatchObject({
      outcome: 'rolled-back',
      reason: expect.stringMatching(/p99 failed 2× at 10% \(last: 250 vs threshold 45; canary p99 250 ms vs production 20 ms\)/),
    });
  });

  it('a canary that ranks differently from production fails the top-10 overlap check', async () => {
    const w = world();
    const r = await run(fakes(w, { readCanaryAnalysis: async () => summary(w, { overlap: 0.2 }) }), input());
    expect(r.result?.reason).toMatch(/top10-overlap failed/);
  });

  it('a step without enough traffic to judge is inconclusive and rolls back', async () => {
    const w = world();
    const r = await run(fakes(w, { readCanaryAnalysis: async () => summary(w, { requests: 5 }) }), input());
    expect(r.result).toMatchObject({ outcome: 'rolled-back', reason: expect.stringMatching(/inconclusive at 10%/) });
    expect(r.result!.analyses[0]!.outcome).toBe('inconclusive');
  });

  it('does not pass a step on error rate and p99 alone when too few requests were mirrored to judge the ranking', async () => {
    const w = world();
    const r = await run(fakes(w, { readCanaryAnalysis: async () => ({ ...summary(w), mirrorCompared: 3 }) }), input());
    expect(r.result).toMatchObject({
      outcome: 'rolled-back',
      reason: expect.stringMatching(/inconclusive at 10%: too few samples to judge top10-overlap, score-drift in 30000 ms/),
    });
  });

  it('stops without overwriting when someone else moved production meanwhile', async () => {
    const w = world();
    const base = fakes(w);
    const acts = fakes(w, {
      moveAlias: async (a) => {
        if (a.alias === 'production' && a.version === 'v2') w.aliases.production = 'v9'; // a person moved it first
        return base.moveAlias!(a);
      },
    });
    const r = await run(acts, input());
    expect(r.result).toMatchObject({ outcome: 'rolled-back', reason: expect.stringMatching(/production alias conflict: .*points at v9/) });
    expect(w.aliases.production).toBe('v9');
    expect(w.calls.filter((c) => c.startsWith('default:'))).toEqual([]);
    expect(w.loaded).toEqual({ 'r1:1': ['v1'], 'r2:1': ['v1'] });
  });

  it('a failing promotion step undoes every completed step in reverse and fails the workflow', async () => {
    const w = world();
    const base = fakes(w);
    const acts = fakes(w, {
      setReplicaDefault: async (a) => {
        if (a.address === 'r2:1' && a.version === 'v2') throw ApplicationFailure.create({ type: 'Broken', nonRetryable: true, message: 'r2 refused' });
        return base.setReplicaDefault!(a);
      },
    });
    const r = await run(acts, input());
    expect(failure(r.error).type).toBe('Broken');
    expect(failure(r.error).message).toMatch(/FAILED .*r2 refused.*undone/);
    expect(r.status?.compensations.map((c) => c.step)).toEqual([
      'default back on r2',
      'default back on r1',
      'previous alias back',
      'production alias back',
      'traffic back to production',
      'unload candidate from r2',
      'unload candidate from r1',
    ]);
    expect(w.aliases).toEqual({ production: 'v1', previous: 'v0' });
    expect(w.defaults).toEqual({ 'r1:1': 'v1', 'r2:1': 'v1' });
    expect(r.sa(SA.OperationState)).toBe('failed');
  });

  it('an undo that fails is reported: RollbackIncomplete, needs a person', async () => {
    const w = world();
    const acts = fakes(w, {
      readCanaryAnalysis: async () => summary(w, { canaryErrors: 40 }),
      unloadVersion: async () => {
        throw ApplicationFailure.create({ nonRetryable: true, message: 'replica gone' });
      },
    });
    const r = await run(acts, input());
    expect(failure(r.error).type).toBe('RollbackIncomplete');
    expect(failure(r.error).message).toMatch(/rollback is INCOMPLETE \(unload candidate from r2, unload candidate from r1\)/);
    expect(w.routing.weight).toBe(0);
  });

  it('abort rolls back at once; freeze stops where it is and rolls nothing back', async () => {
    const w = world();
    let id = '';
    const aborting = fakes(w, {
      readCanaryAnalysis: async () => {
        await signal(id).signal(abortSignal, { by: 'ops', reason: 'looks off' });
        return summary(w);
      },
    });
    const a = await run(aborting, input(), {
      during: async (h) => {
        id = h.id;
      },
    });
    expect(a.result).toMatchObject({ outcome: 'rolled-back', reason: 'aborted by ops: looks off' });
    expect(w.routing.weight).toBe(0);

    const f = world();
    const freezing = fakes(f, {
      readCanaryAnalysis: async () => {
        if (f.routing.weight >= 0.5) await signal(id).signal(freezeSignal, { by: 'ops' });
        return summary(f);
      },
    });
    const z = await run(freezing, input(), {
      during: async (h) => {
        id = h.id;
      },
    });
    expect(z.result).toMatchObject({ outcome: 'frozen', reason: 'frozen by ops' });
    expect(f.routing).toMatchObject({ canaryVersion: 'v2', weight: 0.5 });
    expect(f.loaded['r1:1']).toContain('v2');
    expect(z.sa(SA.OperationState)).toBe('frozen');
  });

  it('a workflow cancel from the UI rolls back in a non-cancellable scope', async () => {
    const w = world();
    const r = await run(fakes(w), input(), {
      during: async ({ id }) => {
        const h = signal(id);
        // Cancel once the canary serves (the first step's split is set): the rollback must undo it.
        // (A cancel landing while the rollout signals a monitor that does not exist hung the
        // time-skipping server in CI: a known gap, see the closing note of issue 8.)
        for (let i = 0; i < 400 && !w.calls.includes('route:v2:0.1'); i++) await new Promise((res) => setTimeout(res, 50));
        await h.cancel();
      },
    });
    expect(r.error).toBeInstanceOf(WorkflowFailedError);
    expect(w.calls.slice(-3)).toEqual(['route:-:0', 'unload:r2:1:v2', 'unload:r1:1:v2']);
    expect(w.ops).toEqual(['running', 'rolled-back']);
  });

  it('waits at a manual gate for approve, holds while paused, and refuses signals that make no sense', async () => {
    const w = world();
    const steps = [{ weight: 0.1 }, { weight: 1, approval: true }];
    const r = await run(fakes(w), input({ strategy: { ...FAST, steps } }), {
      during: async ({ id }) => {
        const h = signal(id);
        await h.signal(resumeSignal, { by: 'ops' }); // not paused: refused
        for (let i = 0; i < 200 && !(await h.query(rolloutStatusQuery)).awaitingApproval; i++) await new Promise((res) => setTimeout(res, 100));
        const waiting = await h.query(rolloutStatusQuery);
        expect(waiting).toMatchObject({ phase: 'awaiting-approval', weight: 0.1, stepIndex: 0 });
        await h.signal(pauseSignal, { by: 'ops' });
        await h.signal(approveSignal, { by: 'ops' });
        for (let i = 0; i < 50 && (await h.query(rolloutStatusQuery)).phase !== 'paused'; i++) await new Promise((res) => setTimeout(res, 100));
        expect((await h.query(rolloutStatusQuery)).phase).toBe('paused');
        expect(w.routing.weight).toBe(0.1);
        await h.signal(resumeSignal, { by: 'ops' });
      },
    });
    expect(r.result?.outcome).toBe('succeeded');
    expect(r.status?.ignoredSignals).toEqual(['resume from ops: not paused']);
    expect(w.steps.map((s) => `${s.step}:${s.state}`)).toEqual(expect.arrayContaining(['approval for step 2:started', 'approval for step 2:completed']));
  });

  it('rolls a catalog index out to one retrieval replica of N, then the rest; a failing index canary goes back', async () => {
    const w = world();
    const r = await run(fakes(w), input({ kind: 'CATALOG_INDEX', model: 'demo-catalog', version: 'i2' }));
    expect(r.result).toMatchObject({ outcome: 'succeeded', kind: 'CATALOG_INDEX' });
    expect(w.calls).toEqual(['snapshot', 'index:x1:1:i2', 'alias:production:i2', 'alias:previous:v1', 'index:x2:1:i2']);
    expect(r.result!.analyses[0]).toMatchObject({ weight: 0.5, outcome: 'passed' });

    const b = world();
    const bad = fakes(b, {
      compareIndexReplicas: async () => ({
        requests: 30,
        canary: { errors: 9, p99Ms: 10 },
        baseline: { errors: 0, p99Ms: 9 },
        compared: 21,
        meanTop10Overlap: 0.8,
      }),
    });
    const x = await run(bad, input({ kind: 'CATALOG_INDEX', model: 'demo-catalog', version: 'i2' }));
    expect(x.result).toMatchObject({ outcome: 'rolled-back', reason: expect.stringMatching(/probe-errors failed/) });
    expect(b.index).toEqual({ 'x1:1': 'v1', 'x2:1': 'i1' });
  });

  it('refuses bad input with every problem named, and a version that is production already', async () => {
    const w = world();
    const r = await run(fakes(w), { model: 'Bad Name!', version: '', strategy: { steps: [{ weight: 0.5 }, { weight: 0.2 }], surprise: 1 } });
    expect(failure(r.error).type).toBe('InvalidInput');
    expect(failure(r.error).message).toMatch(/model: model must be a registry model name.*version: .*strategy.steps: steps must have increasing weights/);
    expect(failure(r.error).message).toMatch(/Unrecognized key.*surprise/);
    const same = await run(fakes(w), input({ version: 'v1' }));
    expect(failure(same.error).type).toBe('AlreadyProduction');
    expect(w.calls).toEqual([]);
  });
});
