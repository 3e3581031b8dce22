// ModelRollout(model, version, strategy), in the vocabulary of Argo Rollouts:
//   plan → validate (quality gate in scratch sessions) → snapshot the registry → canary steps
//   (candidate loaded beside production on every replica; the gateways answer a share with it and
//   mirror a sample; analysis per step) → promote (production alias by compare-and-set, every
//   replica switched load-before-unload, `previous` kept) → unload the old version.
// A failed analysis, a failed gate, an alias conflict or an abort rolls back: every compensation
// was registered when its step completed and they run in reverse in a non-cancellable scope.
// Freeze stops where it is and rolls nothing back. A CATALOG_INDEX rollout canaries one
// retrieval replica of N instead of a traffic share.
// The workflow function only registers handlers; the Rollout class holds the logic
// (temporalio/samples-typescript message-passing/safe-message-handlers).
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, RolloutPlan } from '@ranksafe/activities';
import { errorMessage, invalidInput } from '../shared/errors';
import { ids } from '../shared/ids';
import { OperationLog } from '../shared/operation';
import { Compensations } from '../shared/saga';
import { SA } from '../shared/search-attributes';
import { announceDrainSignal, endDrainSignal } from '../monitor/messages';
import { backupSnapshotWorkflow } from '../snapshot/workflow';
import {
  addMeasurement,
  failureReason,
  measureIndexCanary,
  measureRankingCanary,
  missingMetrics,
  parseRolloutInput,
  requiredMetrics,
  type ResolvedRollout,
} from './analysis';
import {
  abortSignal,
  approveSignal,
  freezeSignal,
  pauseSignal,
  resumeSignal,
  rolloutStatusQuery,
  type Measurement,
  type QualityGateResult,
  type RolloutInput,
  type RolloutResult,
  type RolloutStatus,
  type StepAnalysis,
} from './messages';

// Quick calls get a short timeout, so one in flight when the worker dies is retried soon.
const quick = proxyActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 5, initialInterval: '200 milliseconds', maximumInterval: '2 seconds' },
});
const slow = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});
const gate = proxyActivities<Pick<Activities, 'evaluateQuality'>>({
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { maximumAttempts: 2, initialInterval: '2 seconds' },
});

/** How long a rollout waits for a recovery of one of its replicas before it gives up. */
const RECOVERY_WAIT_MS = 5 * 60_000;
/** Patch (patching API): a sequential recommender is promoted on its quality gate, without a canary split. */
export const RECOMMENDER_GATE_ONLY = 'recommender-gate-only';
/**
 * Patch: a sequential recommender is canaried like a search model, on a split of Recommend's
 * sequential path (Routing.model_kind), without a mirror. Runs that took the gate-only branch replay it.
 */
export const RECOMMENDER_CANARY = 'recommender-canary';

/** The rollout ends by rolling back (a verdict, not an error): analysis or gate failed, abort, alias conflict. */
class RollBack extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'RollBack';
  }
}

/** Freeze: stop where it is, roll nothing back. */
class Frozen extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'Frozen';
  }
}

const failureType = (e: unknown): string | undefined => {
  const cause = e instanceof ActivityFailure ? e.cause : e;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
};

const pct = (w: number) => `${Math.round(w * 1000) / 10}%`;

export class Rollout {
  readonly op: OperationLog;
  readonly saga = new Compensations();
  readonly status: RolloutStatus;
  private approvals = 0;
  private abortReason?: string;
  private freezeReason?: string;
  private readonly startedAtUnixMs = Date.now();
  private baselineP99Ms?: number;

  constructor(readonly cfg: ResolvedRollout) {
    this.op = new OperationLog('rollout', cfg.model);
    this.status = {
      model: cfg.model,
      version: cfg.version,
      kind: cfg.kind,
      phase: 'validating',
      stepIndex: -1,
      steps: cfg.steps,
      weight: 0,
      paused: false,
      frozen: false,
      awaitingApproval: false,
      analyses: [],
      replicas: [],
      timeline: this.op.timeline,
      compensations: [],
      ignoredSignals: [],
    };
  }

  // ---- signals (the handlers only change state; the main loop acts on it) ----
  approve(by = 'someone'): void {
    if (!this.status.awaitingApproval) return void this.status.ignoredSignals.push(`approve from ${by}: nothing waits for approval`);
    this.approvals++;
  }
  pause(by = 'someone'): void {
    if (this.finished()) return void this.status.ignoredSignals.push(`pause from ${by}: the rollout is ${this.status.phase}`);
    this.status.paused = true;
  }
  resume(by = 'someone'): void {
    if (!this.status.paused) return void this.status.ignoredSignals.push(`resume from ${by}: not paused`);
    this.status.paused = false;
  }
  abort(by = 'someone', reason?: string): void {
    if (this.finished() || this.status.phase === 'rolling-back')
      return void this.status.ignoredSignals.push(`abort from ${by}: the rollout is ${this.status.phase}`);
    this.abortReason = `aborted by ${by}${reason ? `: ${reason}` : ''}`;
  }
  freeze(by = 'someone', reason?: string): void {
    if (this.finished() || this.status.phase === 'rolling-back')
      return void this.status.ignoredSignals.push(`freeze from ${by}: the rollout is ${this.status.phase}`);
    this.freezeReason = `frozen by ${by}${reason ? `: ${reason}` : ''}`;
  }
  private finished(): boolean {
    return ['succeeded', 'rolled-back', 'failed', 'frozen'].includes(this.status.phase);
  }

  /** Between steps: act on abort / freeze, and hold while paused. */
  private async checkpoint(): Promise<void> {
    for (;;) {
      if (this.freezeReason) throw new Frozen(this.freezeReason);
      if (this.abortReason) throw new RollBack(this.abortReason);
      if (!this.status.paused) return;
      const before = this.status.phase;
      this.status.phase = 'paused';
      this.op.summarize(`${this.cfg.model} ${this.cfg.version}: paused at ${pct(this.status.weight)}`);
      await condition(() => !this.status.paused || !!this.abortReason || !!this.freezeReason);
      this.status.phase = before;
    }
  }

  /** Sleep up to `ms`, waking early for abort or freeze; paused time does not count. */
  private async wait(ms: number): Promise<void> {
    let left = ms;
    while (left > 0) {
      await this.checkpoint();
      const t0 = Date.now();
      await condition(() => !!this.abortReason || !!this.freezeReason || this.status.paused, left);
      left -= Date.now() - t0;
    }
    await this.checkpoint();
  }

  private step<T>(name: string, fn: () => Promise<T>, describe?: (r: T) => Record<string, unknown>): Promise<T> {
    return this.op.step(name, fn, describe);
  }

  async run(): Promise<RolloutResult> {
    const { cfg, status } = this;
    upsertSearchAttributes([
      { key: SA.Operation, value: 'rollout' },
      { key: SA.Target, value: cfg.model },
      { key: SA.ModelName, value: cfg.model },
      { key: SA.ModelVersion, value: cfg.version },
      { key: SA.OperationState, value: 'running' },
    ]);
    await this.op.operation('running', { version: cfg.version, kind: cfg.kind, reason: cfg.reason });
    try {
      const plan = await this.step(
        'plan',
        () => quick.planRollout({ kind: cfg.kind, model: cfg.model, version: cfg.version, drill: cfg.drill }),
        (p) => ({ production: p.productionVersion, replicas: p.replicas.map((r) => r.name), gateways: p.gateways }),
      );
      status.productionVersion = plan.productionVersion;
      status.replicas = plan.replicas.map((r) => r.name);
      if (plan.productionVersion === cfg.version)
        throw ApplicationFailure.create({ type: 'AlreadyProduction', nonRetryable: true, message: `${cfg.model}/${cfg.version} is production already` });
      this.op.summarize(`${cfg.model}: rolling out ${cfg.version} over ${plan.productionVersion}`);
      await this.checkpoint();

      if (cfg.kind === 'RANKING_MODEL') await this.qualityGate(plan);
      await this.checkpoint();

      if (cfg.strategy.snapshot) {
        status.phase = 'snapshotting';
        const { workflowId, runId } = workflowInfo();
        const snap = await this.step(
          'snapshot registry',
          () =>
            executeChild(backupSnapshotWorkflow, {
              workflowId: `${workflowId}-snapshot-${runId.slice(0, 8)}`,
              args: [{ label: `before rollout ${cfg.model}/${cfg.version} (${runId})`, verify: true }],
            }),
          (r) => ({ snapshotId: r.snapshotId }),
        );
        status.snapshotId = snap.snapshotId;
      }
      await this.checkpoint();

      const recommender = cfg.kind === 'RANKING_MODEL' && plan.modelKind === 'sequential-recommender';
      if (recommender && !patched(RECOMMENDER_CANARY) && patched(RECOMMENDER_GATE_ONLY)) {
        // Before the gateway split Recommend's sequential path: loaded beside production everywhere
        // and promoted on the quality gate alone (kept for runs started then).
        await this.loadCandidates(plan);
        await this.op.note('canary', 'skipped', { reason: 'no canary split for the sequential recommender yet: promoted on its quality gate' });
        await this.promoteRanking(plan, { routing: false });
      } else if (cfg.kind === 'RANKING_MODEL') {
        await this.rankingCanary(plan);
        await this.promoteRanking(plan);
      } else {
        await this.indexCanary(plan);
        await this.promoteIndex(plan);
      }
      return await this.succeed(plan);
    } catch (e) {
      const failedAtUnixMs = Date.now();
      // Non-cancellable: a cancel from the UI must not leave a half-undone system or an unwritten log.
      if (e instanceof Frozen) return await CancellationScope.nonCancellable(() => this.frozen((e as Frozen).reason));
      return await CancellationScope.nonCancellable(() => this.rollBack(e, failedAtUnixMs));
    }
  }

  // ---- validate ----
  private async qualityGate(plan: RolloutPlan): Promise<void> {
    const { cfg, status } = this;
    const q = cfg.strategy.qualityGate;
    if (q.skip) {
      status.quality = { metric: 'ndcg@10', candidate: NaN, production: NaN, tolerance: q.tolerance, queries: 0, passed: true, skipped: true };
      await this.op.note('quality gate', 'skipped', { reason: 'strategy.qualityGate.skip' });
      return;
    }
    const ev = await this.step(
      'quality gate',
      () => gate.evaluateQuality({ model: cfg.model, candidate: cfg.version, production: plan.productionVersion, maxQueries: q.maxQueries }),
      (r) => ({ candidate: r.candidate.ndcg, production: r.production.ndcg, index: r.index, candidateLoadMs: r.candidate.loadMs }),
    );
    const result: QualityGateResult = {
      metric: ev.metric,
      candidate: round(ev.candidate.ndcg),
      production: round(ev.production.ndcg),
      tolerance: q.tolerance,
      queries: ev.candidate.queries,
      passed: ev.candidate.ndcg >= ev.production.ndcg - q.tolerance,
    };
    status.quality = result;
    if (!result.passed)
      throw new RollBack(
        `quality gate failed: ${result.metric} ${result.candidate} < production ${result.production} − ${result.tolerance} over ${result.queries} ${result.metric === 'ndcg@10' ? 'judged queries' : 'held-out histories'}`,
      );
  }

  // ---- ranking canary ----
  /** Load the candidate beside production on every replica, one at a time (each undone by an unload). */
  private async loadCandidates(plan: RolloutPlan): Promise<void> {
    const { cfg, status } = this;
    status.phase = 'loading';
    for (const r of plan.replicas) {
      await this.waitForRecoveries([r.name]);
      // Unloading is idempotent, so the undo is registered first: a load whose answer was lost is undone too.
      this.saga.add(`unload candidate from ${r.name}`, async () => {
        await quick.unloadVersion({ address: r.address, model: cfg.model, version: cfg.version });
      });
      await this.step(
        `load candidate on ${r.name}`,
        () => this.planned('ranking-service', [r.name], () => slow.loadCandidate({ address: r.address, model: cfg.model, version: cfg.version })),
        (x) => ({ ...x }),
      );
      await this.checkpoint();
    }
  }

  /** The split's kind for the gateways: a sequential recommender's is of Recommend's sequential path. */
  private splitKind(plan: RolloutPlan): { modelKind?: 'sequential-recommender' } {
    return plan.modelKind ? { modelKind: plan.modelKind } : {};
  }

  /** A step's mirror rate: none at 100%, and none for a sequential recommender (its answers are not mirrored). */
  private mirrorRate(plan: RolloutPlan, weight: number): number {
    return weight >= 1 || plan.modelKind === 'sequential-recommender' ? 0 : this.cfg.strategy.mirrorRate;
  }

  private async rankingCanary(plan: RolloutPlan): Promise<void> {
    const { cfg, status } = this;
    const t = cfg.strategy.analysis;
    await this.loadCandidates(plan);
    this.saga.add('traffic back to production', async () => {
      await quick.setCanaryRouting({
        gateways: plan.gateways,
        model: cfg.model,
        canaryVersion: '',
        weight: 0,
        mirrorRate: 0,
        reason: `rollback of ${cfg.version}`,
        ...this.splitKind(plan),
      });
      status.weight = 0;
    });

    for (const [i, s] of cfg.steps.entries()) {
      await this.checkpoint();
      if (s.approval) await this.awaitApproval(i);
      status.phase = 'canary';
      status.stepIndex = i;
      const analysis: StepAnalysis = { step: i + 1, weight: s.weight, startedAtUnixMs: Date.now(), failures: {}, measurements: [] };
      status.analyses.push(analysis);
      const reloaded = await this.planned(
        'ranking-service',
        plan.replicas.map((r) => r.name),
        () => slow.ensureLoaded({ replicas: plan.replicas, model: cfg.model, version: cfg.version }),
      );
      if (reloaded.reloaded.length) await this.op.note('reload candidate', 'completed', { replicas: reloaded.reloaded });
      await this.step(`canary ${pct(s.weight)}`, () =>
        quick.setCanaryRouting({
          gateways: plan.gateways,
          model: cfg.model,
          canaryVersion: cfg.version,
          weight: s.weight,
          mirrorRate: this.mirrorRate(plan, s.weight),
          reason: `rollout ${cfg.version} step ${i + 1}/${cfg.steps.length}`,
          ...this.splitKind(plan),
        }),
      );
      status.weight = s.weight;
      this.op.summarize(`${cfg.model}: ${cfg.version} answers ${pct(s.weight)} (step ${i + 1}/${cfg.steps.length}), analysing`);
      await this.wait(t.warmupMs);
      const epochs = await quick.resetCanaryAnalysis({ gateways: plan.gateways });
      const mirrorRate = this.mirrorRate(plan, s.weight);
      const required = requiredMetrics('RANKING_MODEL', { weight: s.weight, mirrorRate, hasBaseline: this.baselineP99Ms !== undefined });
      await this.analyse(analysis, s.analysisMs ?? t.windowMs, required, async () => {
        const a = await quick.readCanaryAnalysis({ gateways: plan.gateways, epochs, canaryVersion: cfg.version });
        const m = measureRankingCanary(a, t, { weight: s.weight, gateways: plan.gateways.length, baselineP99Ms: this.baselineP99Ms });
        if (a.production.requests >= t.minRequests) this.baselineP99Ms = a.production.p99Ms;
        return m;
      });
    }
  }

  /**
   * Measure every interval for `windowMs` (paused time does not count); fail fast past a
   * failureLimit. The window is extended (up to 3×) until every required metric has been measured
   * with enough samples; a step still missing one then is inconclusive.
   */
  private async analyse(analysis: StepAnalysis, windowMs: number, required: string[], measure: () => Promise<Measurement>): Promise<void> {
    const t = this.cfg.strategy.analysis;
    let elapsed = 0;
    while (elapsed < windowMs || (missingMetrics(analysis, required).length > 0 && elapsed < windowMs * 3)) {
      const slice = elapsed < windowMs ? Math.min(t.intervalMs, windowMs - elapsed) : t.intervalMs;
      await this.wait(slice);
      elapsed += slice;
      const m = await measure();
      const failed = addMeasurement(analysis, m, t.failureLimit);
      if (failed) {
        analysis.outcome = 'failed';
        analysis.endedAtUnixMs = Date.now();
        analysis.reason = failureReason(analysis, failed);
        await this.op.note(`analysis step ${analysis.step}`, 'failed', { reason: analysis.reason, failures: analysis.failures });
        throw new RollBack(`canary analysis failed: ${analysis.reason}`);
      }
    }
    analysis.endedAtUnixMs = Date.now();
    const missing = missingMetrics(analysis, required);
    if (missing.length) {
      analysis.outcome = 'inconclusive';
      analysis.reason = `too few samples to judge ${missing.join(', ')} in ${elapsed} ms (need ${t.minRequests} requests per variant, ${t.minMirrored} mirrored)`;
      await this.op.note(`analysis step ${analysis.step}`, t.onInconclusive === 'rollback' ? 'failed' : 'skipped', { reason: analysis.reason });
      if (t.onInconclusive === 'rollback') throw new RollBack(`canary analysis inconclusive at ${pct(analysis.weight)}: ${analysis.reason}`);
      return;
    }
    analysis.outcome = 'passed';
    const last = analysis.measurements[analysis.measurements.length - 1];
    await this.op.note(`analysis step ${analysis.step}`, 'completed', {
      failures: analysis.failures,
      measurements: analysis.measurements.length,
      samples: last?.samples,
    });
  }

  private async awaitApproval(i: number): Promise<void> {
    const { status } = this;
    const before = this.approvals;
    status.phase = 'awaiting-approval';
    status.awaitingApproval = true;
    this.op.summarize(`${this.cfg.model}: ${this.cfg.version} at ${pct(status.weight)}, waiting for approval of step ${i + 1}`);
    await this.op.note(`approval for step ${i + 1}`, 'started');
    await condition(() => this.approvals > before || !!this.abortReason || !!this.freezeReason);
    status.awaitingApproval = false;
    await this.checkpoint();
    await this.op.note(`approval for step ${i + 1}`, 'completed');
  }

  /** A recovery of one of these replicas under way: wait for it (it takes precedence), up to RECOVERY_WAIT_MS. */
  private async waitForRecoveries(instances: string[]): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      const open = await quick.openRecoveries({ instances });
      if (!open.length) return;
      if (Date.now() - t0 > RECOVERY_WAIT_MS) throw new RollBack(`${open.join(', ')} still recovering after ${RECOVERY_WAIT_MS / 1000} s`);
      this.op.summarize(`${this.cfg.model}: waiting for the recovery of ${open.join(', ')}`);
      await this.wait(2000);
    }
  }

  // ---- promote ----
  private async moveAliases(plan: RolloutPlan): Promise<void> {
    const { cfg } = this;
    try {
      await this.step('move production alias', () =>
        quick.moveAlias({
          model: cfg.model,
          alias: 'production',
          version: cfg.version,
          expectedVersion: plan.productionVersion,
          reason: cfg.reason ?? `rollout ${workflowInfo().workflowId}`,
        }),
      );
    } catch (e) {
      if (failureType(e) === 'AliasConflict') throw new RollBack(`production alias conflict: ${errorMessage(e)}`);
      throw e;
    }
    this.saga.add('production alias back', async () => {
      await quick.moveAlias({
        model: cfg.model,
        alias: 'production',
        version: plan.productionVersion,
        expectedVersion: cfg.version,
        reason: `rollback of ${cfg.version}`,
      });
    });
    try {
      await this.step('keep previous alias', () =>
        quick.moveAlias({
          model: cfg.model,
          alias: 'previous',
          version: plan.productionVersion,
          expectedVersion: plan.previousAlias,
          reason: `before ${cfg.version}`,
        }),
      );
      if (plan.previousAlias)
        this.saga.add('previous alias back', async () => {
          await quick.moveAlias({
            model: cfg.model,
            alias: 'previous',
            version: plan.previousAlias,
            expectedVersion: plan.productionVersion,
            reason: `rollback of ${cfg.version}`,
          });
        });
    } catch (e) {
      // Someone moved `previous` meanwhile: not ours to overwrite, and production is right; note it and go on.
      if (failureType(e) !== 'AliasConflict') throw e;
    }
  }

  private async promoteRanking(plan: RolloutPlan, o: { routing: boolean } = { routing: true }): Promise<void> {
    const { cfg, status } = this;
    await this.checkpoint();
    status.phase = 'promoting';
    this.op.summarize(`${cfg.model}: promoting ${cfg.version}`);
    await this.moveAliases(plan);
    await slow.ensureLoaded({ replicas: plan.replicas, model: cfg.model, version: cfg.version });
    for (const r of plan.replicas) {
      await this.waitForRecoveries([r.name]);
      this.saga.add(`default back on ${r.name}`, async () => {
        await quick.setReplicaDefault({ address: r.address, model: cfg.model, version: plan.productionVersion });
      });
      await this.step(
        `default on ${r.name}`,
        () => quick.setReplicaDefault({ address: r.address, model: cfg.model, version: cfg.version }),
        (x) => ({ ...x }),
      );
    }
    // The candidate is every replica's default now: no canary split left.
    if (o.routing)
      await this.step('routing: candidate is production', () =>
        quick.setCanaryRouting({
          gateways: plan.gateways,
          model: cfg.model,
          canaryVersion: '',
          weight: 0,
          mirrorRate: 0,
          reason: `${cfg.version} promoted`,
          ...this.splitKind(plan),
        }),
      );
    status.weight = 1;
  }

  // ---- index canary: one retrieval replica of N ----
  private async indexCanary(plan: RolloutPlan): Promise<void> {
    const { cfg, status } = this;
    const t = cfg.strategy.analysis;
    const [canary, baseline] = plan.replicas;
    if (!canary || !baseline)
      throw ApplicationFailure.create({
        type: 'NeedsTwoReplicas',
        nonRetryable: true,
        message: 'an index canary is one retrieval replica of N: run at least 2',
      });
    status.phase = 'loading';
    status.stepIndex = 0;
    await this.waitForRecoveries([canary.name]);
    this.saga.add(`index back on ${canary.name}`, async () => {
      await this.loadIndexOn(canary, plan.productionVersion);
    });
    await this.step(`load index on ${canary.name}`, () => this.loadIndexOn(canary, cfg.version));
    status.phase = 'canary';
    status.weight = 1 / plan.replicas.length;
    const analysis: StepAnalysis = { step: 1, weight: status.weight, startedAtUnixMs: Date.now(), failures: {}, measurements: [] };
    status.analyses.push(analysis);
    this.op.summarize(`${cfg.model}: ${cfg.version} on ${canary.name} (1 of ${plan.replicas.length}), analysing`);
    await this.wait(t.warmupMs);
    await this.analyse(
      analysis,
      cfg.steps[0]?.analysisMs ?? t.windowMs,
      requiredMetrics('CATALOG_INDEX', { weight: 1, mirrorRate: 0, hasBaseline: true }),
      async () => {
        const c = await quick.compareIndexReplicas({ canary: canary.address, baseline: baseline.address, queries: 30 });
        return measureIndexCanary(c, t, Date.now());
      },
    );
  }

  private loadIndexOn(r: { name: string; address: string }, version: string) {
    return this.planned('retrieval-service', [r.name], () => slow.loadReplicaIndex({ address: r.address, version }));
  }

  /**
   * Work on replicas that may stall them for a while (a reload's drain window; loading and warming a
   * candidate takes the CPU): announced to the tier's monitor first, so it is not taken for a dead
   * replica and "recovered" mid-rollout, and ended after.
   */
  private async planned<T>(tier: string, instances: string[], fn: () => Promise<T>): Promise<T> {
    const monitor = getExternalWorkflowHandle(ids.monitor(tier));
    const by = workflowInfo().workflowId;
    // Non-cancellable: a cancel arriving meanwhile must not leave a half-sent announcement (nor a drain never ended).
    const tell = (send: (instance: string) => Promise<void>) =>
      CancellationScope.nonCancellable(async () => {
        for (const instance of instances) await send(instance).catch(() => undefined); // no monitor running: nothing to tell
      });
    await tell((instance) => monitor.signal(announceDrainSignal, { instance, forMs: 180_000, by }));
    try {
      return await fn();
    } finally {
      await tell((instance) => monitor.signal(endDrainSignal, { instance }));
    }
  }

  private async promoteIndex(plan: RolloutPlan): Promise<void> {
    const { cfg, status } = this;
    await this.checkpoint();
    status.phase = 'promoting';
    await this.moveAliases(plan);
    for (const r of plan.replicas.slice(1)) {
      await this.waitForRecoveries([r.name]);
      this.saga.add(`index back on ${r.name}`, async () => {
        await this.loadIndexOn(r, plan.productionVersion);
      });
      await this.step(`load index on ${r.name}`, () => this.loadIndexOn(r, cfg.version));
    }
    status.weight = 1;
  }

  // ---- endings ----
  private result(outcome: RolloutResult['outcome'], previousVersion: string, reason?: string, rollbackMs?: number): RolloutResult {
    const { cfg, status } = this;
    return {
      model: cfg.model,
      version: cfg.version,
      kind: cfg.kind,
      outcome,
      previousVersion,
      reason,
      quality: status.quality,
      snapshotId: status.snapshotId,
      analyses: status.analyses,
      startedAtUnixMs: this.startedAtUnixMs,
      endedAtUnixMs: Date.now(),
      rollbackMs,
      timeline: this.op.timeline,
    };
  }

  private async succeed(plan: RolloutPlan): Promise<RolloutResult> {
    const { cfg, status } = this;
    // Past the commit point: the old version is unloaded, and a failure here rolls nothing back.
    if (cfg.kind === 'RANKING_MODEL')
      for (const r of plan.replicas) {
        await this.step(`unload ${plan.productionVersion} from ${r.name}`, () =>
          quick.unloadVersion({ address: r.address, model: cfg.model, version: plan.productionVersion }),
        ).catch(() => undefined);
      }
    status.phase = 'succeeded';
    upsertSearchAttributes([{ key: SA.OperationState, value: 'succeeded' }]);
    const q = status.quality && !status.quality.skipped ? `; ${status.quality.metric} ${status.quality.candidate} vs ${status.quality.production}` : '';
    this.op.summarize(`${cfg.model}: ${cfg.version} is production on ${plan.replicas.length} replicas (was ${plan.productionVersion})${q}`);
    await this.op.operation('succeeded', { version: cfg.version, previous: plan.productionVersion }, true);
    return this.result('succeeded', plan.productionVersion);
  }

  private async frozen(reason: string): Promise<RolloutResult> {
    const { cfg, status } = this;
    status.phase = 'frozen';
    status.frozen = true;
    upsertSearchAttributes([{ key: SA.OperationState, value: 'frozen' }]);
    this.op.summarize(`${cfg.model}: ${cfg.version} FROZEN at ${pct(status.weight)} (${reason}); nothing rolled back, an operator takes over`);
    await this.op.note('freeze', 'completed', { reason, weight: status.weight });
    await this.op.operation('frozen', { reason, weight: status.weight }, true);
    return this.result('frozen', status.productionVersion ?? '', reason);
  }

  private async rollBack(e: unknown, failedAtUnixMs: number): Promise<RolloutResult> {
    const { cfg, status } = this;
    const verdict = e instanceof RollBack;
    const cancelled = isCancellation(e);
    const reason = verdict ? (e as RollBack).reason : cancelled ? 'cancelled' : errorMessage(e);
    status.error = reason;
    status.phase = 'rolling-back';
    this.op.summarize(`${cfg.model}: rolling back ${cfg.version}: ${reason}`);
    status.compensations = await this.saga.run();
    for (const c of status.compensations)
      await this.op.note(`undo: ${c.step}`, c.ok ? 'compensated' : 'compensation_failed', c.error ? { error: c.error } : undefined);
    const rollbackMs = Date.now() - failedAtUnixMs;
    const complete = status.compensations.every((c) => c.ok);
    const undone = status.compensations.length;
    if ((verdict || cancelled) && complete) {
      status.phase = 'rolled-back';
      status.weight = 0;
      upsertSearchAttributes([{ key: SA.OperationState, value: 'rolled-back' }]);
      this.op.summarize(
        `${cfg.model}: ${cfg.version} ROLLED BACK (${reason}); ${undone} step(s) undone in ${rollbackMs} ms; production stays ${status.productionVersion}`,
      );
      await this.op.operation('rolled-back', { reason, rollbackMs }, true);
      if (cancelled) throw e;
      return this.result('rolled-back', status.productionVersion ?? '', reason, rollbackMs);
    }
    status.phase = 'failed';
    upsertSearchAttributes([{ key: SA.OperationState, value: 'failed' }]);
    const failedUndos = status.compensations.filter((c) => !c.ok).map((c) => c.step);
    const summary = complete
      ? `${cfg.model}: rollout of ${cfg.version} FAILED (${reason}); ${undone ? `${undone} step(s) undone` : 'nothing had changed'}`
      : `${cfg.model}: rollout of ${cfg.version} FAILED (${reason}) and the rollback is INCOMPLETE (${failedUndos.join(', ')}): needs a person`;
    this.op.summarize(summary);
    await this.op.operation('failed', { reason, rollbackMs, failedUndos }, true);
    if (cancelled) throw e;
    throw ApplicationFailure.create({
      type: failureType(e) ?? (complete ? 'RolloutFailed' : 'RollbackIncomplete'),
      nonRetryable: true,
      message: summary,
      cause: e instanceof Error ? e : undefined,
    });
  }
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

export async function modelRolloutWorkflow(input: RolloutInput): Promise<RolloutResult> {
  const parsed = parseRolloutInput(input);
  if (!parsed.ok) throw invalidInput('modelRolloutWorkflow', parsed.problems);
  const r = new Rollout(parsed.value);
  setHandler(rolloutStatusQuery, () => r.status);
  setHandler(approveSignal, (s) => r.approve(s?.by));
  setHandler(pauseSignal, (s) => r.pause(s?.by));
  setHandler(resumeSignal, (s) => r.resume(s?.by));
  setHandler(abortSignal, (s) => r.abort(s?.by, s?.reason));
  setHandler(freezeSignal, (s) => r.freeze(s?.by, s?.reason));
  return r.run();
}
