// A drill's side effects: the guard and the blast radius, the load (through the load agent the
// Platform runs), the steady-state hypothesis judged on what clients saw, the fault injected,
// proven and always reverted (with a record in Postgres carrying an expiry, for the reconciler),
// what detection and recovery did, the figures, the run stored and its report written.
// Every activity is idempotent: a retry after a worker crash neither injects twice nor loses a revert.
import { ApplicationFailure } from '@temporalio/activity';
import type { Pool } from 'pg';
import {
  drillRequestSeries,
  drillRequestSummary,
  listActiveDrillFaults,
  listIncidents,
  listOperations,
  listSteps,
  markDrillFaultReverted,
  recordDrillFault,
  requestLoad,
  stopLoad,
  upsertDrillRun,
  type DrillRunRecord,
  type StoredDrillFault,
} from '@ranksafe/db';
import type {
  BlastRadius,
  DrillCheck,
  DrillCrash,
  DrillFigures,
  DrillMarks,
  DrillResult,
  DrillSpec,
  DrillStep,
  PhaseFigures,
  SeriesPoint,
} from '@ranksafe/drills';
import { isPlatformError } from '@ranksafe/platform';
import { faultDriver, type DetectedIncident, type DrillDeps, type DrillReplica, type InjectedFault, type Injection } from './drill-faults';
import { writeDrillReport, drillReportMarkdown } from './report';

export interface DrillPlan {
  blastRadius: BlastRadius;
  instances: DrillReplica[];
  tierReplicas: DrillReplica[];
}

export interface Observation {
  atUnixMs: number;
  /** Every injected instance's detection, once all were detected (the latest of them). */
  detectedAtUnixMs?: number;
  incidents: DetectedIncident[];
  fullCapacity: boolean;
  capacityDetail: string;
  requestsSinceInjection: number;
  failedSinceInjection: number;
  recentP99Ms: number;
  /** The stop condition crossed, if any. */
  guardrail?: string;
}

const refused = (message: string) => ApplicationFailure.create({ type: 'DrillRefused', nonRetryable: true, message });
const faultId = (drill: string, kind: string, instance: string) => `${drill}/${kind}/${instance}`;

/** `a` matches an allow-list entry: "*", the tier, or the instance name. */
export function allowed(allowList: string[], tier: string, instance: string): boolean {
  return allowList.some((e) => e === '*' || e === tier || e === instance);
}

/** Replicas in rotation on one gateway, from its Prometheus text (ranksafe_client_replica_ready{target="host:port"} 1). */
export function readyTargets(metricsText: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const line of metricsText.split('\n')) {
    const m = /^ranksafe_client_replica_ready\{([^}]*)\}\s+([0-9.eE+-]+)/.exec(line);
    const target = m && /target="([^"]+)"/.exec(m[1]!)?.[1];
    if (target) out.set(target, Number(m![2]) === 1 || out.get(target) === true);
  }
  return out;
}

async function inRotation(gateways: string[], addresses: string[]): Promise<{ ok: boolean; detail: string }> {
  if (!gateways.length) return { ok: true, detail: 'gateway pools not checked (no gateway metrics address)' };
  const missing: string[] = [];
  for (const g of gateways) {
    let text: string;
    try {
      const res = await fetch(`http://${g}/metrics`, { signal: AbortSignal.timeout(2000) });
      text = await res.text();
    } catch (e) {
      return { ok: false, detail: `gateway metrics ${g} unreadable (${(e as Error).message})` };
    }
    const ready = readyTargets(text);
    for (const a of addresses) if (ready.get(a) !== true) missing.push(`${a} not in rotation on ${g}`);
  }
  return missing.length ? { ok: false, detail: missing.join('; ') } : { ok: true, detail: `every replica in rotation on ${gateways.length} gateway(s)` };
}

type Summary = Omit<Awaited<ReturnType<typeof drillRequestSummary>>, 'p50Ms' | 'p99Ms'> & { p50Ms: number; p99Ms: number };

/** What the load agent recorded over [from, to), percentiles 0 when nothing was answered. */
async function summarize(pool: Pool, runId: string, fromUnixMs?: number, toUnixMs?: number): Promise<Summary> {
  const s = await drillRequestSummary(pool, runId, range(fromUnixMs, toUnixMs));
  return { ...s, p50Ms: s.p50Ms ?? 0, p99Ms: s.p99Ms ?? 0 };
}

const phaseOf = (s: Summary): PhaseFigures => ({
  requests: s.requests,
  ok: s.ok,
  failed: s.failed,
  degraded: s.degraded,
  p50Ms: Math.round(s.p50Ms * 10) / 10,
  p99Ms: Math.round(s.p99Ms * 10) / 10,
});

const range = (fromUnixMs?: number, toUnixMs?: number) => ({
  from: fromUnixMs !== undefined ? new Date(fromUnixMs) : undefined,
  to: toUnixMs !== undefined ? new Date(toUnixMs) : undefined,
});

/** Undo one recorded fault (its kind's driver, from the record alone) and mark it reverted. */
export async function revertDrillFault(
  deps: Pick<DrillDeps, 'pool' | 'platform' | 'serving'> & Partial<Pick<DrillDeps, 'drills'>>,
  f: StoredDrillFault,
  by: string,
): Promise<string> {
  const detail = await faultDriver(f.kind).revert(deps, f);
  await markDrillFaultReverted(deps.pool, f.id, by);
  return detail;
}

export function createDrillActivities(deps: DrillDeps) {
  const { pool, platform, serving, drills } = deps;

  return {
    /** The guard, the target and the blast radius; refuses (non-retryable DrillRefused) with the reason. */
    async drillPreflight(input: { workflowId: string; spec: DrillSpec }): Promise<DrillPlan> {
      const { spec, workflowId } = input;
      const tier = spec.target.tier;
      if (!drills.enabled) throw refused('drills are disabled on this deployment (DRILLS_ENABLED=false): an operator turns them on');
      const replicas = await platform.list({ component: tier });
      const tierReplicas = replicas.filter((r) => r.address).map((r) => ({ name: r.name, address: r.address! }));
      if (!tierReplicas.length) throw refused(`no ${tier} replica is known to the Platform`);
      let instances: DrillReplica[];
      if (spec.target.instances.length) {
        instances = spec.target.instances.map((n) => {
          const r = tierReplicas.find((x) => x.name === n);
          if (!r) throw refused(`target ${n} is not a ${tier} replica (known: ${tierReplicas.map((x) => x.name).join(', ')})`);
          return r;
        });
      } else instances = spec.target.select === 'all' ? tierReplicas : [tierReplicas[tierReplicas.length - 1]!];
      const denied = instances.filter((i) => !allowed(drills.allowList, tier, i.name));
      if (denied.length)
        throw refused(`${denied.map((i) => i.name).join(', ')} not on the drill allow-list (DRILL_ALLOW_LIST=${drills.allowList.join(',') || '(empty)'})`);
      // Steady before anything: every replica running and SERVING, no open incident, no rollout, no other drill.
      for (const r of replicas) if (r.state !== 'running') throw refused(`not steady: ${r.name} is ${r.state}; recover it before drilling`);
      for (const r of tierReplicas) {
        const h = await serving.health(r.address, 2000);
        if (h.status !== 'SERVING') throw refused(`not steady: ${r.name} health is ${h.status}`);
      }
      const open = await listIncidents(pool, { openOnly: true, limit: 20 });
      if (open.length) throw refused(`not steady: open incident(s) ${open.map((i) => `${i.instance} (${i.state})`).join(', ')}`);
      const running = (await listOperations(pool, { limit: 100 })).filter((o) => !o.endedAt && o.workflowId !== workflowId);
      for (const o of running.filter((o) => o.kind === 'rollout' || o.kind === 'drill' || o.kind === 'recovery')) {
        if (await drills.isWorkflowRunning(o.workflowId)) throw refused(`${o.kind} ${o.workflowId} (${o.target}) is running; drills exclude it`);
      }
      try {
        await platform.get(drills.loadAgent);
      } catch (e) {
        if (isPlatformError(e, 'not_found')) throw refused(`no load agent (${drills.loadAgent}) is known to the Platform`);
        throw e;
      }
      const driver = faultDriver(spec.fault.kind);
      const reverts = driver.reverts(spec, instances);
      reverts.push(`stop the load agent (${drills.loadAgent})`);
      const fault = driver.describe(spec);
      return {
        instances,
        tierReplicas,
        blastRadius: {
          tier,
          instances: instances.map((i) => i.name),
          replicas: tierReplicas.length,
          capacityShare: Math.round((instances.length / tierReplicas.length) * 1000) / 1000,
          fault,
          reverts,
        },
      };
    },

    /** Ask the load agent for this drill's load and start it through the Platform (idempotent). */
    async startDrillLoad(input: { runId: string; profile: DrillSpec['load']; deadlineAtUnixMs: number }): Promise<{ agent: string; pid: number }> {
      await requestLoad(pool, { runId: input.runId, profile: input.profile, deadlineAt: new Date(input.deadlineAtUnixMs) });
      const r = await platform.start(drills.loadAgent);
      return { agent: r.name, pid: r.pid };
    },

    /** Stop this drill's load and the agent (idempotent; an agent already stopped is fine). */
    async stopDrillLoad(input: { runId: string }): Promise<{ stopped: boolean }> {
      await stopLoad(pool, input.runId);
      const r = await platform.stop(drills.loadAgent, { graceMs: 5000 });
      return { stopped: r.state !== 'running' };
    },

    /** The steady-state hypothesis over [from, to) of what the load agent recorded. */
    async checkSteadyState(input: {
      runId: string;
      name: string;
      hypothesis: DrillSpec['steadyState'];
      fromUnixMs: number;
      toUnixMs: number;
    }): Promise<DrillCheck & { figures: PhaseFigures }> {
      const h = input.hypothesis;
      const s = await summarize(pool, input.runId, input.fromUnixMs, input.toUnixMs);
      const figures = phaseOf(s);
      const answered = s.ok + s.degraded;
      const problems: string[] = [];
      if (s.requests < h.minRequests) problems.push(`only ${s.requests} requests in the window (at least ${h.minRequests} to judge)`);
      const errorRate = s.requests ? s.failed / s.requests : 0;
      const degradedShare = s.requests ? s.degraded / s.requests : 0;
      if (errorRate > h.maxErrorRate) problems.push(`error rate ${(errorRate * 100).toFixed(1)}% > ${(h.maxErrorRate * 100).toFixed(1)}%`);
      if (degradedShare > h.maxDegradedShare) problems.push(`degraded ${(degradedShare * 100).toFixed(1)}% > ${(h.maxDegradedShare * 100).toFixed(1)}%`);
      if (answered && s.p99Ms > h.maxP99Ms) problems.push(`p99 ${Math.round(s.p99Ms)} ms > ${h.maxP99Ms} ms`);
      const failures = Object.entries(s.byStatus)
        .filter(([status]) => status !== 'OK' && status !== 'DEGRADED')
        .map(([status, n]) => `${status} ${n}`)
        .join(', ');
      const summary = `${s.requests} requests, ${s.failed} failed${failures ? ` (${failures})` : ''}, ${s.degraded} degraded, p50 ${Math.round(s.p50Ms)} ms, p99 ${Math.round(s.p99Ms)} ms`;
      return {
        name: input.name,
        ok: problems.length === 0,
        detail: problems.length ? `${problems.join('; ')} (${summary})` : summary,
        atUnixMs: Date.now(),
        figures,
      };
    },

    /** Inject the fault into every target, recording each before it is injected; a retry injects nothing twice. */
    async injectDrillFault(input: {
      drillWorkflowId: string;
      spec: DrillSpec;
      instances: DrillReplica[];
    }): Promise<{ injectedAtUnixMs: number; faults: InjectedFault[] }> {
      const { spec } = input;
      const driver = faultDriver(spec.fault.kind);
      const out: InjectedFault[] = [];
      const already = new Map((await listActiveDrillFaults(pool, input.drillWorkflowId)).map((f) => [f.id, f]));
      for (const i of input.instances) {
        const id = faultId(input.drillWorkflowId, spec.fault.kind, i.name);
        if (!driver.recorded) {
          out.push({
            id,
            instance: i.name,
            kind: spec.fault.kind,
            ...(await driver.inject(deps, { drillWorkflowId: input.drillWorkflowId, spec, instance: i })),
          });
          continue;
        }
        const prev = already.get(id);
        if (prev?.detail?.['injectedAtUnixMs']) {
          // Injected by an earlier attempt (its completion was lost): report it, inject nothing.
          const { address: _a, ...injection } = prev.detail as Record<string, unknown>;
          out.push({ ...(injection as unknown as Injection), id, instance: i.name, kind: prev.kind });
          continue;
        }
        const expiresAtUnixMs = Date.now() + spec.fault.ttlMs;
        const record = (detail: Record<string, unknown>) =>
          recordDrillFault(pool, { id, drillWorkflowId: input.drillWorkflowId, kind: spec.fault.kind, target: i.name, detail, expiresAtUnixMs });
        await record({ address: i.address });
        const injection = await driver.inject(deps, { drillWorkflowId: input.drillWorkflowId, spec, instance: i });
        await record({ address: i.address, ...injection });
        out.push({ id, instance: i.name, kind: spec.fault.kind, ...injection });
      }
      return { injectedAtUnixMs: Math.min(...out.map((f) => f.injectedAtUnixMs)), faults: out };
    },

    /** Proof of injection: the process really gone (or replaced), the latency really observed, the hang really hanging. */
    async proveDrillInjection(input: { spec: DrillSpec; faults: InjectedFault[]; instances: DrillReplica[] }): Promise<DrillCheck> {
      const { spec } = input;
      const driver = faultDriver(spec.fault.kind);
      const proofs: string[] = [];
      const problems: string[] = [];
      for (const f of input.faults) {
        const r = await driver.prove(deps, { spec, fault: f, instance: input.instances.find((x) => x.name === f.instance)! });
        if (r.problem) problems.push(r.problem);
        else if (r.proof) proofs.push(r.proof);
      }
      return {
        name: 'injection took effect',
        ok: problems.length === 0,
        detail: problems.length ? problems.join('; ') : proofs.join('; '),
        atUnixMs: Date.now(),
      };
    },

    /** One look at the system during the fault: detection, full capacity, stop conditions. */
    async observeDrill(input: {
      runId: string;
      spec: DrillSpec;
      instances: DrillReplica[];
      tierReplicas: DrillReplica[];
      injectedAtUnixMs: number;
      /** What was injected (a driver's detection and restoration read it); absent in histories from before drivers. */
      faults?: InjectedFault[];
    }): Promise<Observation> {
      const { spec } = input;
      const driver = faultDriver(spec.fault.kind);
      const now = Date.now();
      const seen = { spec, faults: input.faults ?? [], instances: input.instances, injectedAtUnixMs: input.injectedAtUnixMs };
      const detected = driver.detect ? await driver.detect(deps, seen) : undefined;
      const incidents: Observation['incidents'] = detected?.incidents ?? [];
      for (const i of detected ? [] : input.instances) {
        const found = (await listIncidents(pool, { instance: i.name, limit: 5 })).filter((x) => x.detectedAt.getTime() >= input.injectedAtUnixMs - 1000);
        const first = found[found.length - 1];
        if (first)
          incidents.push({
            id: first.id,
            instance: i.name,
            state: first.state,
            detectedAtUnixMs: first.detectedAt.getTime(),
            recoveryWorkflowId: first.recoveryWorkflowId ?? undefined,
          });
      }
      const detectedAtUnixMs = detected
        ? detected.detectedAtUnixMs
        : incidents.length === input.instances.length
          ? Math.max(...incidents.map((x) => x.detectedAtUnixMs))
          : undefined;

      // Full capacity: every replica of the tier running, SERVING, in every gateway's rotation, and
      // (where a recovery is the expected path) every incident of this drill closed as recovered.
      const problems: string[] = [];
      for (const r of input.tierReplicas) {
        const p = await platform.get(r.name).catch(() => undefined);
        if (p?.state !== 'running') {
          problems.push(`${r.name} ${p?.state ?? 'unknown'}`);
          continue;
        }
        const h = await serving.health(r.address, 1000);
        if (h.status !== 'SERVING') problems.push(`${r.name} health ${h.status}`);
      }
      if (spec.expect.recovery === 'recovery-workflow') {
        for (const i of input.instances) {
          const inc = incidents.find((x) => x.instance === i.name);
          if (!inc) problems.push(`${i.name}: no incident yet`);
          else if (inc.state !== 'recovered') problems.push(`${i.name}: incident ${inc.state}`);
        }
      }
      if (driver.notRestored) problems.push(...(await driver.notRestored(deps, seen)));
      let capacityDetail: string;
      if (!problems.length) {
        // No gateway routes to the registry: its capacity is its replicas SERVING.
        const rot =
          spec.target.tier === 'model-registry'
            ? { ok: true, detail: 'the registry is not in any gateway rotation' }
            : await inRotation(
                drills.gatewayMetrics,
                input.tierReplicas.map((r) => r.address),
              );
        if (!rot.ok) problems.push(rot.detail);
        capacityDetail = rot.ok ? `full capacity: ${input.tierReplicas.length} replica(s) SERVING; ${rot.detail}` : rot.detail;
      } else capacityDetail = problems.join('; ');

      const since = await summarize(pool, input.runId, input.injectedAtUnixMs, undefined);
      const recent = await summarize(pool, input.runId, now - 5000, undefined);
      let guardrail: string | undefined;
      const a = spec.abort;
      if (since.requests >= a.minRequests && since.failed / since.requests > a.errorBudget)
        guardrail = `error budget: ${since.failed} of ${since.requests} requests failed since injection (> ${(a.errorBudget * 100).toFixed(1)}%)`;
      else if (recent.ok + recent.degraded > 0 && recent.p99Ms > a.p99CeilingMs)
        guardrail = `p99 ceiling: ${Math.round(recent.p99Ms)} ms over the last 5 s (> ${a.p99CeilingMs} ms)`;
      return {
        atUnixMs: now,
        detectedAtUnixMs,
        incidents,
        fullCapacity: problems.length === 0,
        capacityDetail,
        requestsSinceInjection: since.requests,
        failedSinceInjection: since.failed,
        recentP99Ms: Math.round(recent.p99Ms),
        guardrail,
      };
    },

    /**
     * The second crash (spec.crash): SIGKILL of the drill-worker or Temporal, started again by the
     * Platform after restartAfterMs. Recorded before it happens, so the attempt that kills its own
     * worker (or whose completion Temporal never hears of) is not repeated by its retry: that retry
     * finds the record and reports what happened (the instance's restart).
     */
    async crashForDrill(input: {
      drillWorkflowId: string;
      crash: DrillCrash;
    }): Promise<{ crashedAtUnixMs: number; pid: number; repeated: boolean; restarted?: boolean }> {
      const { crash } = input;
      const id = faultId(input.drillWorkflowId, 'kill', crash.instance);
      const prev = (await listActiveDrillFaults(pool, input.drillWorkflowId)).find((f) => f.id === id);
      if (prev?.detail?.['crashedAtUnixMs']) {
        const crashedAtUnixMs = Number(prev.detail['crashedAtUnixMs']);
        const now = await platform.get(crash.instance);
        return {
          crashedAtUnixMs,
          pid: Number(prev.detail['pid']),
          repeated: true,
          restarted: now.state === 'running' && now.startedAt.getTime() >= crashedAtUnixMs,
        };
      }
      const before = await platform.get(crash.instance);
      const crashedAtUnixMs = Date.now();
      await recordDrillFault(pool, {
        id,
        drillWorkflowId: input.drillWorkflowId,
        kind: 'kill',
        target: crash.instance,
        detail: { crashedAtUnixMs, pid: before.pid, restartAfterMs: crash.restartAfterMs },
        expiresAtUnixMs: crashedAtUnixMs + 600_000,
      });
      await platform.kill(crash.instance, 'SIGKILL', { restartAfterMs: crash.restartAfterMs });
      return { crashedAtUnixMs, pid: before.pid, repeated: false };
    },

    /** Revert every fault of this drill that is not reverted yet (non-cancellable cleanup calls this). */
    async revertDrillFaults(input: { drillWorkflowId: string; by?: string }): Promise<{ reverted: string[] }> {
      const reverted: string[] = [];
      for (const f of await listActiveDrillFaults(pool, input.drillWorkflowId)) reverted.push(await revertDrillFault(deps, f, input.by ?? 'drill'));
      return { reverted };
    },

    /** Figures by phase, the per-second series and the recovery workflows' steps, from Postgres. */
    async collectDrillFigures(input: { runId: string; marks: DrillMarks; incidentWorkflowIds: string[] }): Promise<{
      figures: Omit<DrillFigures, 'mttdMs' | 'rtoMs' | 'rpoMs'>;
      series: SeriesPoint[];
      steps: DrillStep[];
    }> {
      const m = input.marks;
      const start = m.loadStartedAtUnixMs;
      const inj = m.injectedAtUnixMs;
      const back = m.recoveredAtUnixMs ?? m.revertedAtUnixMs;
      const all = await summarize(pool, input.runId, start, m.loadStoppedAtUnixMs);
      const before = phaseOf(await summarize(pool, input.runId, start, inj ?? m.loadStoppedAtUnixMs));
      const during = inj !== undefined ? phaseOf(await summarize(pool, input.runId, inj, back ?? m.loadStoppedAtUnixMs)) : phaseOf(emptySummary());
      const after = back !== undefined ? phaseOf(await summarize(pool, input.runId, back, m.loadStoppedAtUnixMs)) : phaseOf(emptySummary());
      const series = (await drillRequestSeries(pool, input.runId, range(start, m.loadStoppedAtUnixMs))).map((b) => ({
        ...b,
        p50Ms: b.p50Ms ?? 0,
        p99Ms: b.p99Ms ?? 0,
      }));
      const steps: DrillStep[] = [];
      for (const wf of input.incidentWorkflowIds) {
        for (const s of await listSteps(pool, wf)) {
          steps.push({
            source: wf,
            step: s.step,
            state: s.state,
            atUnixMs: s.at.getTime(),
            durationMs: typeof s.detail?.['durationMs'] === 'number' ? (s.detail['durationMs'] as number) : undefined,
            ...(s.writes > 1 ? { detail: { writes: s.writes } } : {}),
          });
        }
      }
      return {
        figures: {
          requests: all.requests,
          failed: all.failed,
          failedShare: all.requests ? Math.round((all.failed / all.requests) * 10_000) / 10_000 : 0,
          degraded: all.degraded,
          degradedShare: all.requests ? Math.round((all.degraded / all.requests) * 10_000) / 10_000 : 0,
          byStatus: all.byStatus,
          before,
          during,
          after,
        },
        series,
        steps,
      };
    },

    /** Store the run (drill_runs) and write its report; returns the Markdown summary for the memo and the files. */
    async finishDrill(input: { result: DrillResult }): Promise<{ markdown: string; paths?: { json: string; html: string; md: string } }> {
      const r = input.result;
      await upsertDrillRun(pool, drillRunRecord(r));
      const markdown = drillReportMarkdown(r);
      if (r.outcome === 'dry-run') return { markdown };
      const paths = await writeDrillReport(drills.reportDir, r);
      return { markdown, paths };
    },

    /** Record that a drill started (drill_runs 'running'), so history shows a run that never finished. */
    async recordDrillStart(input: { workflowId: string; runId: string; spec: DrillSpec; target: string; startedAtUnixMs: number }): Promise<void> {
      await upsertDrillRun(pool, {
        workflowId: input.workflowId,
        runId: input.runId,
        scenario: input.spec.scenario,
        target: input.target,
        dryRun: input.spec.dryRun,
        outcome: 'running',
        startedAtUnixMs: input.startedAtUnixMs,
      });
    },
  };
}

function emptySummary(): Summary {
  return { requests: 0, ok: 0, failed: 0, degraded: 0, p50Ms: 0, p99Ms: 0, byStatus: {} };
}

export function drillRunRecord(r: DrillResult): DrillRunRecord {
  return {
    workflowId: r.workflowId,
    runId: r.runId,
    scenario: r.scenario,
    target: r.blastRadius.instances.join(',') || r.spec.target.tier,
    dryRun: r.spec.dryRun,
    outcome: r.outcome,
    reason: r.reason,
    startedAtUnixMs: r.marks.startedAtUnixMs,
    endedAtUnixMs: r.marks.endedAtUnixMs,
    mttdMs: r.figures.mttdMs,
    rtoMs: r.figures.rtoMs,
    rpoMs: r.figures.rpoMs,
    requests: r.figures.requests,
    failed: r.figures.failed,
    degraded: r.figures.degraded,
    score: r.score.value,
    result: r as unknown as Record<string, unknown>,
  };
}

/**
 * Clear faults that no running drill owns: expired ones, and those of drills that ended without
 * their cleanup (terminated, timed out). Run by the drill-worker on an interval.
 */
export async function reconcileDrillFaults(deps: DrillDeps, now = Date.now()): Promise<Array<{ id: string; why: string; detail: string }>> {
  const out: Array<{ id: string; why: string; detail: string }> = [];
  for (const f of await listActiveDrillFaults(deps.pool)) {
    const expired = f.expiresAt.getTime() <= now;
    const orphan = !expired && !(await deps.drills.isWorkflowRunning(f.drillWorkflowId));
    if (!expired && !orphan) continue;
    const why = expired ? 'expired' : `its drill ${f.drillWorkflowId} is not running`;
    out.push({ id: f.id, why, detail: await revertDrillFault(deps, f, 'reconciler') });
  }
  return out;
}
