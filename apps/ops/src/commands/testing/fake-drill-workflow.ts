// A stand-in for DrillWorkflow with its contract (type name, one JSON input resolved by
// resolveDrillSpec, InvalidInput, the `status` query, the `abort` signal, the search attributes,
// the memo's summary and reportHtml, a DrillResult) and none of its work, so drill.int.spec.ts
// drives the ops commands against a real Temporal server in a few seconds. Workflow code: bundled
// by that test's Worker (workflowBundlerOptions resolves @ranksafe/drills, which is workflow-safe).
//
// Its fake world, read from the spec: the fault is "detected" 300 ms after injection and the tier
// is back at full capacity `timing.holdMs` after it (1500 ms when 0); past `abort.timeLimitMs` the
// drill fails. A passed run's memo names a report; a failed or aborted one's does not (so the CLI
// writes it from the result).
import {
  ApplicationFailure,
  condition,
  defineQuery,
  defineSignal,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  CATALOG,
  DrillSpecError,
  resilienceScore,
  resolveDrillSpec,
  type DrillCheck,
  type DrillInput,
  type DrillResult,
  type DrillSpec,
} from '@ranksafe/drills';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { DrillStatus } from '@ranksafe/workflows';

const SA = {
  DrillScenario: defineSearchAttributeKey('DrillScenario', SearchAttributeType.KEYWORD),
  DrillOutcome: defineSearchAttributeKey('DrillOutcome', SearchAttributeType.KEYWORD),
  Operation: defineSearchAttributeKey('Operation', SearchAttributeType.KEYWORD),
};

export const FAKE_REPORT_DIR = '/srv/drill-worker/reports';

export async function drillWorkflow(input: DrillInput): Promise<DrillResult> {
  let spec: DrillSpec;
  try {
    spec = resolveDrillSpec(input);
  } catch (e) {
    const problems = e instanceof DrillSpecError ? e.problems : [String(e)];
    throw ApplicationFailure.create({
      type: 'InvalidInput',
      nonRetryable: true,
      message: `drillWorkflow: invalid input: ${problems.join('; ')}`,
      details: problems,
    });
  }
  const checks: DrillCheck[] = [];
  const s: DrillStatus = { scenario: spec.scenario, phase: 'preflight', marks: { startedAtUnixMs: Date.now() }, checks };
  let abortReason: string | undefined;
  setHandler(defineQuery<DrillStatus>('status'), () => s);
  setHandler(defineSignal<[{ by?: string; reason?: string }?]>('abort'), (a) => {
    if (abortReason || s.outcome) return;
    abortReason = `aborted by ${a?.by ?? 'signal'}${a?.reason ? `: ${a.reason}` : ''}`;
    s.abortRequested = abortReason;
  });
  upsertSearchAttributes([
    { key: SA.DrillScenario, value: spec.scenario },
    { key: SA.Operation, value: 'drill' },
  ]);
  await sleep(100);
  s.blastRadius = {
    tier: spec.target.tier,
    instances: spec.target.select === 'all' ? [`${spec.target.tier}-1`, `${spec.target.tier}-2`] : [`${spec.target.tier}-2`],
    replicas: 2,
    capacityShare: spec.target.select === 'all' ? 1 : 0.5,
    fault: spec.fault.kind === 'kill' ? 'SIGKILL' : `+${spec.fault.latencyMs} ms`,
    reverts: [`start ${spec.target.tier}-2 again if no recovery brought it back`, 'stop the load agent (load-agent)'],
  };
  let outcome: DrillResult['outcome'] = 'passed';
  let reason = '';
  const m = s.marks;
  const holdMs = spec.timing.holdMs || 1500;
  if (spec.dryRun) {
    outcome = 'dry-run';
    reason = `dry run: would ${s.blastRadius.fault} ${s.blastRadius.instances.join(', ')}; nothing injected`;
  } else {
    s.phase = 'baseline';
    m.loadStartedAtUnixMs = Date.now();
    await condition(() => abortReason !== undefined, 300);
    checks.push({ name: 'steady state before', ok: true, detail: '30 requests, 0 failed', atUnixMs: Date.now() });
    if (!abortReason) {
      s.phase = 'injecting';
      m.injectedAtUnixMs = Date.now();
      s.phase = 'proving';
      await sleep(50);
      m.injectionProvenAtUnixMs = Date.now();
      checks.push({ name: 'injection took effect', ok: true, detail: `${s.blastRadius.instances.join(', ')} exited by SIGKILL`, atUnixMs: Date.now() });
      s.phase = 'observing';
      for (let requests = 10; ; requests += 10) {
        const since = Date.now() - m.injectedAtUnixMs;
        if (since >= 300 && m.detectedAtUnixMs === undefined) m.detectedAtUnixMs = m.injectedAtUnixMs + 300;
        s.live = {
          requests,
          failed: 0,
          recentP99Ms: 42,
          capacity: since >= holdMs ? 'full capacity: 2 replica(s) SERVING' : `${s.blastRadius.instances[0]} exited`,
          mttdMs: m.detectedAtUnixMs !== undefined ? 300 : undefined,
        };
        if (abortReason) {
          [outcome, reason] = ['aborted', abortReason];
          break;
        }
        if (since >= holdMs) {
          m.recoveredAtUnixMs = Date.now();
          reason = `${s.blastRadius.instances.join(', ')}: detected in 300 ms, steady state restored in ${m.recoveredAtUnixMs - m.injectedAtUnixMs} ms`;
          break;
        }
        if (since > spec.abort.timeLimitMs) {
          [outcome, reason] = ['failed', `not back to steady state within the time limit (${spec.abort.timeLimitMs} ms): ${s.live.capacity}`];
          break;
        }
        await condition(() => abortReason !== undefined, 200);
      }
    }
    s.phase = 'reverting';
    m.revertedAtUnixMs = Date.now();
    if (abortReason && outcome === 'passed') [outcome, reason] = ['aborted', abortReason];
    if (outcome !== 'aborted') {
      s.phase = 'after';
      await sleep(200);
      checks.push({ name: 'steady state after', ok: true, detail: '20 requests, 0 failed', atUnixMs: Date.now() });
    }
    m.loadStoppedAtUnixMs = Date.now();
  }
  s.phase = 'measuring';
  m.endedAtUnixMs = Date.now();
  const injected = m.injectedAtUnixMs;
  const phase = (requests: number, p99Ms: number) => ({ requests, ok: requests, failed: 0, degraded: 0, p50Ms: 12, p99Ms });
  const requests = spec.dryRun ? 0 : (s.live?.requests ?? 0) + 50;
  const figures: DrillResult['figures'] = {
    mttdMs: injected !== undefined && m.detectedAtUnixMs !== undefined ? m.detectedAtUnixMs - injected : undefined,
    rtoMs: injected !== undefined && m.recoveredAtUnixMs !== undefined ? m.recoveredAtUnixMs - injected : undefined,
    requests,
    failed: 0,
    failedShare: 0,
    degraded: 0,
    degradedShare: 0,
    byStatus: { OK: requests },
    before: phase(spec.dryRun ? 0 : 30, 40),
    during: phase(s.live?.requests ?? 0, 60),
    after: phase(spec.dryRun ? 0 : 20, 41),
  };
  const result: DrillResult = {
    workflowId: workflowInfo().workflowId,
    runId: workflowInfo().runId,
    scenario: spec.scenario,
    title: CATALOG[spec.scenario].title,
    outcome,
    reason,
    spec,
    blastRadius: s.blastRadius,
    marks: m,
    figures,
    checks,
    steps: [],
    series: [],
    score: resilienceScore({ outcome, spec, figures }),
  };
  s.phase = 'done';
  s.outcome = outcome;
  s.reason = reason;
  s.score = result.score.value;
  upsertSearchAttributes([{ key: SA.DrillOutcome, value: outcome }]);
  upsertMemo({
    summary: `${result.title}: ${outcome.toUpperCase()} (score ${result.score.value}): ${reason}`,
    ...(outcome === 'passed' ? { reportHtml: `${FAKE_REPORT_DIR}/${result.workflowId}.html` } : {}),
  });
  return result;
}
