// DrillWorkflow on the Java time-skipping test server with fake activities over a small fake world
// (two ranking replicas, a load agent, incidents that detection opens and recovery closes): a
// passing kill drill with its marks and figures, a refused drill that touches nothing, a dry run,
// not steady before (nothing injected), a fault that did not take (failed, reverted), never
// recovered within the time limit (failed, reverted), a stop condition crossed (aborted), the abort
// signal, a cancel from the UI (still reverted), a latency fault cleared by the drill, bad input.
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Worker } from '@temporalio/worker';
import type { Activities, Observation } from '@ranksafe/activities';
import type { DrillInput, DrillResult } from '@ranksafe/drills';
import { recordHistory, temporalTimeSkippingEnv } from '@ranksafe/testing';
import { workflowBundlerOptions } from '@ranksafe/platform';
import { drillAbortSignal, drillStatusQuery, drillWorkflow, ids, SA, type DrillStatus } from '../index';

interface World {
  calls: string[];
  /** When (ms after injection) detection opens the incident; undefined = never. */
  detectAfterMs?: number;
  /** When (ms after injection) the replica is back at full capacity; undefined = never. */
  recoverAfterMs?: number;
  steady: boolean;
  proven: boolean;
  guardrailAfterMs?: number;
  injectedAt?: number;
  /** Looks the drill took at the system; the fake's clock advances 1 s per look. */
  looks: number;
  reverted: number;
  loadRunning: boolean;
  finished?: DrillResult;
}

const world = (over: Partial<World> = {}): World => ({
  calls: [],
  detectAfterMs: 700,
  recoverAfterMs: 8000,
  steady: true,
  proven: true,
  looks: 0,
  reverted: 0,
  loadRunning: false,
  ...over,
});

const plan = {
  instances: [{ name: 'ranking-service-2', address: 'r2:1' }],
  tierReplicas: [
    { name: 'ranking-service-1', address: 'r1:1' },
    { name: 'ranking-service-2', address: 'r2:1' },
  ],
  blastRadius: {
    tier: 'ranking-service',
    instances: ['ranking-service-2'],
    replicas: 2,
    capacityShare: 0.5,
    fault: 'SIGKILL',
    reverts: ['start ranking-service-2 again if no recovery brought it back', 'stop the load agent (load-agent)'],
  },
};

const phase = (requests: number) => ({ requests, ok: requests, failed: 0, degraded: 0, p50Ms: 12, p99Ms: 40 });

function fakes(w: World, over: Partial<Activities> = {}): Partial<Activities> {
  return {
    recordStep: async (s) => void w.calls.push(`step:${s.step}:${s.state}`),
    recordOperation: async (o) => void w.calls.push(`op:${o.state}`),
    drillPreflight: async () => (w.calls.push('preflight'), plan),
    recordDrillStart: async () => undefined,
    startDrillLoad: async () => (w.calls.push('load:start'), (w.loadRunning = true), { agent: 'load-agent', pid: 42 }),
    stopDrillLoad: async () => (w.calls.push('load:stop'), (w.loadRunning = false), { stopped: true }),
    checkSteadyState: async ({ name }) => (
      w.calls.push(`check:${name}`),
      { name, ok: w.steady, detail: w.steady ? '60 requests, 0 failed' : 'error rate 12.0% > 0.0%', atUnixMs: Date.now(), figures: phase(60) }
    ),
    injectDrillFault: async () => {
      w.calls.push('inject');
      w.injectedAt = Date.now();
      return { injectedAtUnixMs: w.injectedAt, faults: [{ id: 'f1', instance: 'ranking-service-2', kind: 'kill', injectedAtUnixMs: w.injectedAt, pid: 7 }] };
    },
    proveDrillInjection: async () => ({
      name: 'injection took effect',
      ok: w.proven,
      detail: w.proven ? 'ranking-service-2 killed by SIGKILL (pid 7 gone)' : 'ranking-service-2 still runs as pid 7: the kill did not take',
      atUnixMs: Date.now(),
    }),
    observeDrill: async ({ injectedAtUnixMs }): Promise<Observation> => {
      // Activities run on the real clock while the test server skips workflow time: simulate one.
      const t = w.looks++ * 1000;
      const detected = w.detectAfterMs !== undefined && t >= w.detectAfterMs;
      const back = detected && w.recoverAfterMs !== undefined && t >= w.recoverAfterMs;
      return {
        atUnixMs: injectedAtUnixMs + t,
        detectedAtUnixMs: detected ? injectedAtUnixMs + w.detectAfterMs! : undefined,
        incidents: detected
          ? [
              {
                id: 'i1',
                instance: 'ranking-service-2',
                state: back ? 'recovered' : 'recovering',
                detectedAtUnixMs: injectedAtUnixMs + w.detectAfterMs!,
                recoveryWorkflowId: 'recover-ranking-service-2',
              },
            ]
          : [],
        fullCapacity: back,
        capacityDetail: back ? 'full capacity' : 'ranking-service-2 killed',
        requestsSinceInjection: Math.round(t / 100),
        failedSinceInjection: 0,
        recentP99Ms: 40,
        guardrail: w.guardrailAfterMs !== undefined && t >= w.guardrailAfterMs ? 'error budget: 9 of 40 requests failed since injection (> 5.0%)' : undefined,
      };
    },
    revertDrillFaults: async () => (w.calls.push('revert'), w.reverted++, { reverted: w.injectedAt ? ['ranking-service-2 already running again'] : [] }),
    collectDrillFigures: async () => ({
      figures: {
        requests: 300,
        failed: 0,
        failedShare: 0,
        degraded: 3,
        degradedShare: 0.01,
        byStatus: { OK: 297, DEGRADED: 3 },
        before: phase(60),
        during: phase(180),
        after: phase(60),
      },
      series: [],
      steps: [{ source: 'recover-ranking-service-2', step: 'restart', state: 'completed', atUnixMs: (w.injectedAt ?? 0) + 1000 }],
    }),
    finishDrill: async ({ result }) => (
      (w.finished = result),
      { markdown: `## ${result.title}: ${result.outcome}`, paths: { json: 'a.json', html: 'a.html', md: 'a.md' } }
    ),
    ...over,
  };
}

describe('drillWorkflow', () => {
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
    o: { history?: string; during?: (h: { id: string }) => Promise<void> } = {},
  ): Promise<{ result?: DrillResult; error?: Error; status?: DrillStatus; sa: (k: (typeof SA)[keyof typeof SA]) => unknown; memo: Record<string, unknown> }> {
    const taskQueue = `drill-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowsPath: require.resolve('../index'),
      bundlerOptions: workflowBundlerOptions(),
      activities: acts,
    });
    return worker.runUntil(async () => {
      const h = await env.client.workflow.start(drillWorkflow, {
        taskQueue,
        workflowId: o.history ?? `${ids.drill((args as DrillInput).scenario ?? 'x', Date.now())}-${randomUUID().slice(0, 8)}`,
        args: [args as DrillInput],
      });
      if (o.during) await o.during({ id: h.workflowId });
      let result: DrillResult | undefined;
      let error: Error | undefined;
      try {
        result = await h.result();
      } catch (e) {
        error = e as Error;
      }
      if (process.env.DEBUG_DRILL) console.log('DRILL', result?.outcome, result?.reason, error?.message);
      if (o.history) await recordHistory(h, o.history);
      const desc = await h.describe();
      return {
        result,
        error,
        status: await h.query(drillStatusQuery).catch(() => undefined),
        sa: (k) => desc.typedSearchAttributes.get(k as never),
        memo: (desc.memo ?? {}) as Record<string, unknown>,
      };
    });
  }

  const kill: DrillInput = { scenario: 'ranking-replica-kill', timing: { baselineMs: 6000, afterMs: 3000 } };

  it('passes a kill drill: load, steady before, inject, prove, detected, full capacity, revert, steady after, stop load, report', async () => {
    const w = world();
    const r = await run(fakes(w), kill, { history: 'drill-passed' });
    expect(r.error).toBeUndefined();
    expect(r.result).toMatchObject({ outcome: 'passed', scenario: 'ranking-replica-kill', title: 'Ranking replica SIGKILL' });
    const m = r.result!.marks;
    expect(r.result!.figures.mttdMs).toBe(700);
    expect(r.result!.figures.rtoMs).toBe(8000); // the first look at full capacity (one look a second)
    expect(r.result!.figures.rtoMs).toBe(m.recoveredAtUnixMs! - m.injectedAtUnixMs!);
    expect(w.looks).toBe(9);
    expect(m.loadStoppedAtUnixMs).toBeGreaterThanOrEqual(m.revertedAtUnixMs!);
    const order = w.calls.filter((c) => !c.startsWith('step:') && !c.startsWith('op:'));
    expect(order).toEqual(['preflight', 'load:start', 'check:steady state before', 'inject', 'revert', 'check:steady state after', 'load:stop']);
    expect(w.loadRunning).toBe(false);
    expect(r.result!.checks.map((c) => [c.name, c.ok])).toEqual([
      ['steady state before', true],
      ['injection took effect', true],
      ['steady state after', true],
    ]);
    expect(r.result!.score.value).toBeGreaterThan(80);
    expect(r.result!.steps.some((s) => s.source === 'recover-ranking-service-2')).toBe(true);
    expect(r.sa(SA.DrillScenario)).toBe('ranking-replica-kill');
    expect(r.sa(SA.DrillOutcome)).toBe('passed');
    expect(String(r.memo['report'])).toContain('passed');
    expect(String(r.memo['summary'])).toContain('PASSED');
    expect(w.finished?.outcome).toBe('passed');
  });

  it('a refused drill (guard, allow-list, not steady) is aborted and touches nothing', async () => {
    const w = world();
    const r = await run(
      fakes(w, {
        drillPreflight: async () => {
          throw ApplicationFailure.create({
            type: 'DrillRefused',
            nonRetryable: true,
            message: 'drills are disabled on this deployment (DRILLS_ENABLED=false)',
          });
        },
      }),
      kill,
    );
    expect(r.result).toMatchObject({ outcome: 'aborted' });
    expect(r.result!.reason).toContain('DRILLS_ENABLED=false');
    expect(w.calls.filter((c) => ['inject', 'load:start', 'revert'].includes(c))).toEqual([]);
    expect(r.sa(SA.DrillOutcome)).toBe('aborted');
  });

  it('a dry run shows the blast radius and injects nothing', async () => {
    const w = world();
    const r = await run(fakes(w), { ...kill, dryRun: true });
    expect(r.result).toMatchObject({ outcome: 'dry-run', blastRadius: { instances: ['ranking-service-2'], capacityShare: 0.5 } });
    expect(r.result!.reason).toContain('would SIGKILL ranking-service-2');
    expect(w.calls).not.toContain('inject');
    expect(w.calls).not.toContain('load:start');
  });

  it('refuses to inject on a system that is not steady before, and says why', async () => {
    const w = world({ steady: false });
    const r = await run(fakes(w), kill);
    expect(r.result).toMatchObject({ outcome: 'aborted' });
    expect(r.result!.reason).toMatch(/not steady before injection, nothing injected: error rate 12.0%/);
    expect(w.calls).not.toContain('inject');
    expect(w.calls).toContain('load:stop');
  });

  it('a fault that did not take is a failed drill, reverted', async () => {
    const w = world({ proven: false });
    const r = await run(fakes(w), kill);
    expect(r.result).toMatchObject({ outcome: 'failed' });
    expect(r.result!.reason).toContain('the fault did not take');
    expect(r.result!.score.value).toBe(0);
    expect(w.calls).toContain('revert');
    expect(w.calls).toContain('load:stop');
  });

  it('never detected within the time limit: failed, and still reverted', async () => {
    const w = world({ detectAfterMs: undefined });
    const r = await run(fakes(w), { ...kill, abort: { timeLimitMs: 20_000 } });
    expect(r.result).toMatchObject({ outcome: 'failed' });
    expect(r.result!.reason).toMatch(/within the time limit \(20000 ms\).*never detected/);
    expect(w.calls).toContain('revert');
    expect(r.result!.figures.mttdMs).toBeUndefined();
  });

  it('a stop condition crossed aborts the drill and reverts the fault', async () => {
    const w = world({ recoverAfterMs: undefined, guardrailAfterMs: 3000 });
    const r = await run(fakes(w), kill);
    expect(r.result).toMatchObject({ outcome: 'aborted' });
    expect(r.result!.reason).toContain('stop condition crossed: error budget');
    expect(w.calls.filter((c) => c === 'revert')).toHaveLength(1);
    expect(w.calls).not.toContain('check:steady state after');
  });

  it('the abort signal stops the drill at once and reverts the fault', async () => {
    const w = world({ recoverAfterMs: undefined });
    const r = await run(fakes(w), kill, {
      during: async ({ id }) => {
        const h = env.client.workflow.getHandle(id);
        for (let i = 0; i < 200 && (await h.query(drillStatusQuery)).phase !== 'observing'; i++) await new Promise((res) => setTimeout(res, 50));
        await h.signal(drillAbortSignal, { by: 'ops', reason: 'customer call' });
      },
    });
    expect(r.result).toMatchObject({ outcome: 'aborted', reason: 'aborted by ops: customer call' });
    expect(w.calls).toContain('revert');
    expect(w.loadRunning).toBe(false);
  });

  it('a cancel from the UI still reverts the fault and stops the load (non-cancellable cleanup)', async () => {
    const w = world({ recoverAfterMs: undefined });
    const r = await run(fakes(w), kill, {
      during: async ({ id }) => {
        const h = env.client.workflow.getHandle(id);
        for (let i = 0; i < 200 && (await h.query(drillStatusQuery)).phase !== 'observing'; i++) await new Promise((res) => setTimeout(res, 50));
        await h.cancel();
      },
    });
    expect(r.error).toBeInstanceOf(WorkflowFailedError);
    expect(w.calls).toContain('revert');
    expect(w.loadRunning).toBe(false);
    expect(w.finished).toMatchObject({ outcome: 'aborted', reason: 'cancelled from the UI or a client' });
  });

  it('a latency fault the drill clears itself: held, reverted, then steady state must come back', async () => {
    const w = world({ detectAfterMs: undefined, recoverAfterMs: undefined });
    // Full capacity is reported once the fault is reverted (the fake: from the first look after revert).
    let revertedAt = 0;
    const acts = fakes(w, {
      revertDrillFaults: async () => (w.calls.push('revert'), (revertedAt ||= w.looks), { reverted: ['cleared'] }),
      observeDrill: async ({ injectedAtUnixMs }) => ({
        atUnixMs: injectedAtUnixMs + w.looks++ * 1000,
        incidents: [],
        fullCapacity: revertedAt > 0,
        capacityDetail: revertedAt ? 'full capacity' : 'ranking-service-2 slow',
        requestsSinceInjection: w.looks * 10,
        failedSinceInjection: 0,
        recentP99Ms: 2100,
      }),
    });
    const r = await run(acts, { scenario: 'ranking-replica-latency', expect: { recovery: 'fault-cleared' }, timing: { holdMs: 5000 } });
    expect(r.result).toMatchObject({ outcome: 'passed' });
    expect(revertedAt).toBeGreaterThanOrEqual(5); // held for the 5 s of holdMs (one look a second) before the drill cleared it
    expect(r.result!.figures.mttdMs).toBeUndefined();
    expect(w.calls.filter((c) => c === 'revert')).toHaveLength(1); // the cleanup found it reverted already
  });

  it('a second crash mid-recovery (the drill-worker) is injected once a Recovery runs; a step repeated after it fails the drill', async () => {
    const w = world();
    const crashes: string[] = [];
    const acts = fakes(w, { crashForDrill: async ({ crash }) => (crashes.push(crash.instance), { crashedAtUnixMs: Date.now(), pid: 9, repeated: false }) });
    const ok = await run(acts, { scenario: 'worker-killed-mid-recovery' });
    expect(ok.result).toMatchObject({ outcome: 'passed' });
    expect(crashes).toEqual(['drill-worker']);
    expect(ok.result!.marks.crashedAtUnixMs).toBeGreaterThan(0);
    expect(ok.result!.checks.find((c) => c.name === 'no step repeated')).toMatchObject({ ok: true });
    const w2 = world();
    const base = fakes(w2);
    const twice = await run(
      {
        ...base,
        crashForDrill: async () => ({ crashedAtUnixMs: Date.now(), pid: 9, repeated: false }),
        collectDrillFigures: async (i) => {
          const c = await base.collectDrillFigures!(i);
          return { ...c, steps: [{ source: 'recover-ranking-service-2', step: 'restart', state: 'completed', atUnixMs: 1, detail: { writes: 2 } }] };
        },
      },
      { scenario: 'worker-killed-mid-recovery' },
    );
    expect(twice.result).toMatchObject({ outcome: 'failed', reason: 'a completed step was repeated after the drill-worker crash' });
    expect(twice.result!.checks.find((c) => c.name === 'no step repeated')!.detail).toContain('recover-ranking-service-2 restart completed ×2');
  });

  it('refuses bad input with every problem named', async () => {
    const r = await run(fakes(world()), { scenario: 'ranking-replica-kill', fault: { kind: 'explode' }, bogus: 1 });
    const cause = (r.error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('InvalidInput');
    expect(cause.message).toContain('unknown field "bogus"');
    const r2 = await run(fakes(world()), { scenario: 'meteor-strike' });
    expect(((r2.error as WorkflowFailedError).cause as ApplicationFailure).message).toContain('scenario must be one of ranking-replica-kill');
  });
});
