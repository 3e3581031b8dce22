// DrillWorkflow(spec): one scenario of the catalog on the running system, under load, in the
// vocabulary of Chaos Toolkit / AWS FIS: preflight (guard, target, blast radius; a dry run stops
// here) → load through the load agent → steady state before → inject (recorded with a TTL) → proof
// of injection → observe (detection, full capacity, stop conditions) → ALWAYS revert (non-cancellable,
// also after a cancel, an abort or a failure) → steady state after → figures, score, report, memo.
// The workflow file registers handlers; the Drill class holds the logic (safe-message-handlers).
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, DrillPlan, InjectedFault, Observation } from '@ranksafe/activities';
import {
  CATALOG,
  DrillSpecError,
  resilienceScore,
  resolveDrillSpec,
  type DrillCheck,
  type DrillFigures,
  type DrillInput,
  type DrillMarks,
  type DrillOutcome,
  type DrillResult,
  type DrillSpec,
  type DrillStep,
} from '@ranksafe/drills';
import { errorMessage, invalidInput } from '../shared/errors';
import { OperationLog } from '../shared/operation';
import { SA } from '../shared/search-attributes';
import { drillAbortSignal, drillStatusQuery, type DrillStatus } from './messages';

const quick = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { maximumAttempts: 5, initialInterval: '300 milliseconds', maximumInterval: '3 seconds', nonRetryableErrorTypes: ['DrillRefused'] },
});
const slow = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

/** The second crash kills the worker running it (or the server holding it): retried until the worker is back. */
const crashing = proxyActivities<Activities>({
  startToCloseTimeout: '20 seconds',
  retry: { maximumAttempts: 12, initialInterval: '1 second', maximumInterval: '5 seconds' },
});

/** How often the drill looks at the system while the fault is in (one activity per look). */
const OBSERVE_EVERY_MS = 1000;

/** Not a failure of the system under drill: the drill itself stops (aborted) with a reason. */
class Abort extends Error {}

export class Drill {
  readonly status: DrillStatus;
  private readonly op: OperationLog;
  private readonly marks: DrillMarks;
  private readonly checks: DrillCheck[] = [];
  private plan?: DrillPlan;
  private faults: InjectedFault[] = [];
  private last?: Observation;
  private abortReason?: string;

  constructor(readonly spec: DrillSpec) {
    this.marks = { startedAtUnixMs: Date.now() };
    this.op = new OperationLog('drill', spec.target.tier);
    this.status = { scenario: spec.scenario, phase: 'preflight', marks: this.marks, checks: this.checks };
  }

  abort(by?: string, reason?: string): void {
    if (this.abortReason || this.status.outcome) return;
    this.abortReason = `aborted by ${by ?? 'signal'}${reason ? `: ${reason}` : ''}`;
    this.status.abortRequested = this.abortReason;
  }

  private check(c: DrillCheck): DrillCheck {
    this.checks.push(c);
    return c;
  }

  private get runId(): string {
    return workflowInfo().workflowId;
  }

  async run(): Promise<DrillResult> {
    const { spec } = this;
    const info = workflowInfo();
    upsertSearchAttributes([
      { key: SA.DrillScenario, value: spec.scenario },
      { key: SA.Operation, value: 'drill' },
      { key: SA.Target, value: spec.target.tier },
      { key: SA.OperationState, value: 'running' },
    ]);
    await this.op.operation('running', { scenario: spec.scenario, dryRun: spec.dryRun });

    // Preflight: a refusal (guard, allow-list, not steady, excluded by another operation) ends the drill as aborted, nothing touched.
    try {
      this.plan = await this.op.step(
        'preflight',
        () => quick.drillPreflight({ workflowId: info.workflowId, spec }),
        (p) => ({ ...p.blastRadius }),
      );
    } catch (e) {
      return this.finish('aborted', `refused: ${errorMessage(e)}`);
    }
    this.status.blastRadius = this.plan.blastRadius;
    upsertSearchAttributes([{ key: SA.Target, value: this.plan.blastRadius.instances.join(',') }]);
    if (spec.dryRun)
      return this.finish('dry-run', `dry run: would ${this.plan.blastRadius.fault} ${this.plan.blastRadius.instances.join(', ')}; nothing injected`);

    await quick.recordDrillStart({
      workflowId: info.workflowId,
      runId: info.runId,
      spec,
      target: this.plan.blastRadius.instances.join(','),
      startedAtUnixMs: this.marks.startedAtUnixMs,
    });

    let outcome: DrillOutcome = 'failed';
    let reason = '';
    let cancelled: unknown;
    try {
      [outcome, reason] = await this.method();
    } catch (e) {
      if (isCancellation(e)) {
        cancelled = e;
        [outcome, reason] = ['aborted', 'cancelled from the UI or a client'];
      } else if (e instanceof Abort) [outcome, reason] = ['aborted', e.message];
      else [outcome, reason] = ['failed', `drill error: ${errorMessage(e)}`];
    }
    // Always revert, whatever happened: non-cancellable, so a cancel from the UI still cleans up.
    const result = await CancellationScope.nonCancellable(async () => {
      await this.cleanup(outcome === 'passed' || outcome === 'failed');
      const after = this.checks.find((c) => c.name === 'steady state after');
      if (outcome === 'passed' && after && !after.ok) [outcome, reason] = ['failed', `steady state not held after the drill: ${after.detail}`];
      return this.finish(outcome, reason);
    });
    if (cancelled) throw cancelled;
    return result;
  }

  /** The experiment proper: returns the verdict, or throws Abort. */
  private async method(): Promise<[DrillOutcome, string]> {
    const { spec } = this;
    const plan = this.plan!;
    const timeLimit = spec.abort.timeLimitMs;
    // The load's own deadline (its TTL): everything the drill can take, plus a margin.
    const deadlineAtUnixMs = Date.now() + spec.timing.baselineMs + timeLimit + spec.timing.holdMs + spec.timing.afterMs + 60_000;
    this.status.phase = 'baseline';
    await this.op.step(
      'start load',
      () => quick.startDrillLoad({ runId: this.runId, profile: spec.load, deadlineAtUnixMs }),
      (r) => ({ ...r }),
    );
    this.marks.loadStartedAtUnixMs = Date.now();
    await this.wait(spec.timing.baselineMs);
    const before = this.check(
      await quick.checkSteadyState({
        runId: this.runId,
        name: 'steady state before',
        hypothesis: spec.steadyState,
        fromUnixMs: Date.now() - spec.steadyState.windowMs,
        toUnixMs: Date.now(),
      }),
    );
    await this.op.note('steady state before', before.ok ? 'completed' : 'failed', { detail: before.detail });
    if (!before.ok) throw new Abort(`not steady before injection, nothing injected: ${before.detail}`);
    this.abortIfAsked();

    this.status.phase = 'injecting';
    const injected = await this.op.step(
      'inject',
      () => slow.injectDrillFault({ drillWorkflowId: this.runId, spec, instances: plan.instances }),
      (r) => ({ faults: r.faults.map((f) => f.id) }),
    );
    this.faults = injected.faults;
    this.marks.injectedAtUnixMs = injected.injectedAtUnixMs;

    this.status.phase = 'proving';
    const proof = this.check(await quick.proveDrillInjection({ spec, faults: this.faults, instances: plan.instances }));
    await this.op.note('prove injection', proof.ok ? 'completed' : 'failed', { detail: proof.detail });
    if (!proof.ok) return ['failed', `the fault did not take: ${proof.detail}`];
    this.marks.injectionProvenAtUnixMs = proof.atUnixMs;

    this.status.phase = spec.expect.recovery === 'fault-cleared' ? 'holding' : 'observing';
    const injectedAt = injected.injectedAtUnixMs;
    // Time limits run on the workflow's clock (from when it learned of the injection); the marks
    // and figures on the clock of what was observed (the injection, the incidents' detection).
    const injectedLocal = Date.now();
    const holdUntil = injectedLocal + spec.timing.holdMs;
    for (;;) {
      this.abortIfAsked();
      const o = await quick.observeDrill({
        runId: this.runId,
        spec,
        instances: plan.instances,
        tierReplicas: plan.tierReplicas,
        injectedAtUnixMs: injectedAt,
        faults: this.faults,
      });
      this.last = o;
      if (o.detectedAtUnixMs !== undefined && this.marks.detectedAtUnixMs === undefined) {
        this.marks.detectedAtUnixMs = o.detectedAtUnixMs;
        await this.op.note('detected', 'completed', { mttdMs: o.detectedAtUnixMs - injectedAt, incidents: o.incidents.map((i) => i.id) });
      }
      this.status.live = {
        requests: o.requestsSinceInjection,
        failed: o.failedSinceInjection,
        recentP99Ms: o.recentP99Ms,
        capacity: o.capacityDetail,
        mttdMs: this.marks.detectedAtUnixMs !== undefined ? this.marks.detectedAtUnixMs - injectedAt : undefined,
      };
      if (o.guardrail) throw new Abort(`stop condition crossed: ${o.guardrail}`);
      const crash = spec.crash;
      if (crash && this.marks.crashedAtUnixMs === undefined && (crash.when === 'injected' || o.incidents.some((i) => i.state === 'recovering'))) {
        this.status.phase = 'crashing';
        const c = await this.op.step(
          `crash ${crash.instance}`,
          () => crashing.crashForDrill({ drillWorkflowId: this.runId, crash }),
          (r) => ({ ...r }),
        );
        this.marks.crashedAtUnixMs = c.crashedAtUnixMs;
        this.status.phase = 'observing';
      }
      if (spec.expect.recovery === 'fault-cleared' && Date.now() >= holdUntil) {
        // The fault is taken out by the drill itself; steady state must come back after it.
        await this.revertNow();
        this.status.phase = 'observing';
      }
      const recoveredPath = spec.expect.recovery !== 'fault-cleared' || this.marks.revertedAtUnixMs !== undefined;
      if (recoveredPath && o.fullCapacity && (spec.expect.recovery !== 'recovery-workflow' || o.detectedAtUnixMs !== undefined)) {
        this.marks.recoveredAtUnixMs = o.atUnixMs;
        await this.op.note('full capacity', 'completed', { rtoMs: o.atUnixMs - injectedAt, detail: o.capacityDetail });
        break;
      }
      if (Date.now() - injectedLocal > timeLimit)
        return [
          'failed',
          `not back to steady state within the time limit (${timeLimit} ms): ${o.capacityDetail}${this.marks.detectedAtUnixMs === undefined ? '; never detected' : ''}`,
        ];
      await this.wait(OBSERVE_EVERY_MS);
    }
    const rto = this.marks.recoveredAtUnixMs - injectedAt;
    const restored = this.faults.find((f) => f.restore)?.restore;
    if (restored)
      return [
        'passed',
        `snapshot ${restored.snapshotId} restored into a sandbox and verified in ${restored.restoreMs} ms; RPO ${Math.round(restored.rpoMs / 1000)} s`,
      ];
    const mttd = this.marks.detectedAtUnixMs !== undefined ? this.marks.detectedAtUnixMs - injectedAt : undefined;
    return ['passed', `${plan.blastRadius.instances.join(', ')}: ${mttd !== undefined ? `detected in ${mttd} ms, ` : ''}steady state restored in ${rto} ms`];
  }

  private abortIfAsked(): void {
    if (this.abortReason) throw new Abort(this.abortReason);
  }

  /** A timer that an abort signal cuts short. */
  private async wait(ms: number): Promise<void> {
    if (ms > 0) await condition(() => this.abortReason !== undefined, ms);
    this.abortIfAsked();
  }

  private async revertNow(): Promise<void> {
    if (this.marks.revertedAtUnixMs !== undefined) return;
    this.status.phase = 'reverting';
    const r = await this.op.step(
      'revert faults',
      () => quick.revertDrillFaults({ drillWorkflowId: this.runId, by: 'drill' }),
      (x) => ({ ...x }),
    );
    if (this.faults.length || r.reverted.length) this.marks.revertedAtUnixMs = Date.now();
  }

  /** Revert every fault, then (when the drill got that far) the steady state after, then stop the load. */
  private async cleanup(checkAfter: boolean): Promise<void> {
    const errors: string[] = [];
    await this.revertNow().catch((e) => errors.push(`revert: ${errorMessage(e)}`));
    if (checkAfter && this.marks.loadStartedAtUnixMs !== undefined && this.marks.injectedAtUnixMs !== undefined) {
      this.status.phase = 'after';
      await sleep(this.spec.timing.afterMs);
      const after = await quick
        .checkSteadyState({
          runId: this.runId,
          name: 'steady state after',
          hypothesis: this.spec.steadyState,
          fromUnixMs: Date.now() - Math.min(this.spec.timing.afterMs, this.spec.steadyState.windowMs),
          toUnixMs: Date.now(),
        })
        .catch((e) => ({ name: 'steady state after', ok: false, detail: errorMessage(e), atUnixMs: Date.now() }));
      this.check(after);
      await this.op.note('steady state after', after.ok ? 'completed' : 'failed', { detail: after.detail });
    }
    if (this.marks.loadStartedAtUnixMs !== undefined) {
      await this.op.step('stop load', () => quick.stopDrillLoad({ runId: this.runId })).catch((e) => errors.push(`stop load: ${errorMessage(e)}`));
      this.marks.loadStoppedAtUnixMs = Date.now();
    }
    if (errors.length) this.check({ name: 'cleanup', ok: false, detail: errors.join('; '), atUnixMs: Date.now() });
  }

  private async finish(outcome: DrillOutcome, reason: string): Promise<DrillResult> {
    const { spec } = this;
    const info = workflowInfo();
    this.status.phase = 'measuring';
    this.marks.endedAtUnixMs = Date.now();
    const inj = this.marks.injectedAtUnixMs;
    let collected: Awaited<ReturnType<Activities['collectDrillFigures']>> | undefined;
    if (this.marks.loadStartedAtUnixMs !== undefined) {
      collected = await slow
        .collectDrillFigures({
          runId: this.runId,
          marks: this.marks,
          incidentWorkflowIds: (this.last?.incidents ?? []).map((i) => i.recoveryWorkflowId).filter((x): x is string => !!x),
        })
        .catch(() => undefined);
    }
    const empty = { requests: 0, ok: 0, failed: 0, degraded: 0, p50Ms: 0, p99Ms: 0 };
    const figures: DrillFigures = {
      ...(collected?.figures ?? {
        requests: 0,
        failed: 0,
        failedShare: 0,
        degraded: 0,
        degradedShare: 0,
        byStatus: {},
        before: empty,
        during: empty,
        after: empty,
      }),
      mttdMs: inj !== undefined && this.marks.detectedAtUnixMs !== undefined ? this.marks.detectedAtUnixMs - inj : undefined,
      rtoMs: inj !== undefined && this.marks.recoveredAtUnixMs !== undefined ? this.marks.recoveredAtUnixMs - inj : undefined,
      rpoMs: this.faults.find((f) => f.restore)?.restore?.rpoMs,
    };
    // A pass must also hold the client-side promise: no more failed requests than the scenario tolerates.
    if (outcome === 'passed' && figures.failedShare > spec.expect.maxFailedShare) {
      outcome = 'failed';
      reason = `${figures.failed} of ${figures.requests} requests failed (${(figures.failedShare * 100).toFixed(2)}% > ${(spec.expect.maxFailedShare * 100).toFixed(2)}% allowed); ${reason}`;
    }
    if (spec.crash && collected) {
      // After a crash mid-recovery, the Recovery must have resumed from its history: every step once.
      const repeated = collected.steps.filter((s) => s.source !== 'drill' && Number(s.detail?.['writes'] ?? 1) > 1);
      this.check({
        name: 'no step repeated',
        ok: repeated.length === 0,
        detail: repeated.length
          ? `repeated after the crash: ${repeated.map((s) => `${s.source} ${s.step} ${s.state} ×${String(s.detail?.['writes'])}`).join(', ')}`
          : `${collected.steps.filter((s) => s.source !== 'drill').length} recovery step records, each written once`,
        atUnixMs: Date.now(),
      });
      if (outcome === 'passed' && repeated.length) [outcome, reason] = ['failed', `a completed step was repeated after the ${spec.crash.instance} crash`];
      if (outcome === 'passed' && this.marks.crashedAtUnixMs === undefined)
        [outcome, reason] = ['failed', `the ${spec.crash.instance} crash was never injected`];
    }
    const drillSteps: DrillStep[] = this.op.timeline.map((t) => ({
      source: 'drill',
      step: t.step,
      state: t.state,
      atUnixMs: t.atUnixMs,
      durationMs: t.durationMs,
      detail: t.detail,
    }));
    const result: DrillResult = {
      workflowId: info.workflowId,
      runId: info.runId,
      scenario: spec.scenario,
      title: CATALOG[spec.scenario].title,
      outcome,
      reason,
      spec,
      blastRadius: this.plan?.blastRadius ?? { tier: spec.target.tier, instances: [], replicas: 0, capacityShare: 0, fault: spec.fault.kind, reverts: [] },
      marks: this.marks,
      figures,
      checks: this.checks,
      steps: [...drillSteps, ...(collected?.steps ?? [])].sort((a, b) => a.atUnixMs - b.atUnixMs),
      series: collected?.series ?? [],
      score: resilienceScore({ outcome, spec, figures }),
    };
    const done = await quick
      .finishDrill({ result })
      .catch((e) => ({ markdown: `${outcome}: ${reason} (report not written: ${errorMessage(e)})`, paths: undefined }));
    this.status.phase = 'done';
    this.status.outcome = outcome;
    this.status.reason = reason;
    this.status.score = result.score.value;
    upsertSearchAttributes([
      { key: SA.DrillOutcome, value: outcome },
      { key: SA.OperationState, value: outcome },
    ]);
    this.op.summarize(`${result.title}: ${outcome.toUpperCase()} (score ${result.score.value}): ${reason}`);
    upsertMemo({ report: done.markdown, ...(done.paths ? { reportHtml: done.paths.html } : {}) });
    await this.op.operation(outcome, { reason, score: result.score.value, mttdMs: figures.mttdMs, rtoMs: figures.rtoMs }, true);
    return result;
  }
}

export async function drillWorkflow(input: DrillInput): Promise<DrillResult> {
  let spec: DrillSpec;
  try {
    spec = resolveDrillSpec(input);
  } catch (e) {
    if (e instanceof DrillSpecError) throw invalidInput('drillWorkflow', e.problems);
    throw ApplicationFailure.create({ type: 'InvalidInput', nonRetryable: true, message: errorMessage(e) });
  }
  const d = new Drill(spec);
  setHandler(drillStatusQuery, () => d.status);
  setHandler(drillAbortSignal, (s) => d.abort(s?.by, s?.reason));
  return d.run();
}
