// A realistic DrillResult, written by hand, for the report's tests (and for a look at the page:
// `npx tsx -e "…drillReportHtml(drillResultFixture())…"`): ranking-replica-kill of one of two
// ranking replicas, 6 s of baseline and 24 s after the kill at 10 requests/s (30 s of series),
// every mark, the drill's own steps and the 6 steps of the Recovery it observed.
import { resilienceScore, resolveDrillSpec, type DrillFigures, type DrillResult, type DrillStep, type SeriesPoint } from '@ranksafe/drills';

/** The kill, on the drill's clock (unix ms): 2025-06-02T10:00:00Z. */
export const FIXTURE_T0 = Date.UTC(2025, 5, 2, 10, 0, 0);

/** Second `i` since the kill: sent 10, none failed, 2 then 1 degraded as the kill lands, one replica's latency until recovered. */
function second(i: number): SeriesPoint {
  const [p50Ms, p99Ms, degraded] = i < 0 ? [9, 21, 0] : i === 0 ? [14, 180, 2] : i === 1 ? [12, 140, 1] : i < 12 ? [11, 35, 0] : [9, 23, 0];
  return { atUnixMs: FIXTURE_T0 + i * 1000, sent: 10, ok: 10, failed: 0, degraded, p50Ms, p99Ms };
}

const RECOVERY = 'recover-ranking-service-2';

export function drillResultFixture(over: Partial<DrillResult> = {}): DrillResult {
  const T0 = FIXTURE_T0;
  const spec = resolveDrillSpec({ scenario: 'ranking-replica-kill', timing: { afterMs: 12_000 } });
  const series = Array.from({ length: 30 }, (_, k) => second(k - 6));
  const figures: DrillFigures = {
    mttdMs: 1840,
    rtoMs: 11_480,
    requests: 300,
    failed: 0,
    failedShare: 0,
    degraded: 3,
    degradedShare: 0.01,
    byStatus: { OK: 297, DEGRADED: 3 },
    before: { requests: 60, ok: 60, failed: 0, degraded: 0, p50Ms: 9, p99Ms: 21 },
    during: { requests: 120, ok: 120, failed: 0, degraded: 3, p50Ms: 11, p99Ms: 180 },
    after: { requests: 120, ok: 120, failed: 0, degraded: 0, p50Ms: 9, p99Ms: 23 },
  };
  const steps: DrillStep[] = [
    { source: 'drill', step: 'baseline', state: 'done', atUnixMs: T0 - 6000, durationMs: 6000 },
    { source: 'drill', step: 'inject', state: 'done', atUnixMs: T0, durationMs: 12, detail: { instance: 'ranking-service-2', signal: 'SIGKILL', pid: 41_233 } },
    { source: 'drill', step: 'prove-injection', state: 'done', atUnixMs: T0 + 310, durationMs: 310, detail: { pidGone: 41_233 } },
    { source: RECOVERY, step: 'open-incident', state: 'completed', atUnixMs: T0 + 1840, durationMs: 25, detail: { incidentId: 17, probe: 'liveness' } },
    { source: RECOVERY, step: 'drain', state: 'completed', atUnixMs: T0 + 1900, durationMs: 40 },
    { source: RECOVERY, step: 'restart', state: 'completed', atUnixMs: T0 + 1950, durationMs: 2100, detail: { pid: 41_502 } },
    { source: RECOVERY, step: 'load-production', state: 'completed', atUnixMs: T0 + 4100, durationMs: 5200, detail: { model: 'ranker', version: 7 } },
    { source: RECOVERY, step: 'verify', state: 'completed', atUnixMs: T0 + 9350, durationMs: 1900, detail: { canaryRequests: 20, failed: 0 } },
    { source: RECOVERY, step: 'undrain', state: 'completed', atUnixMs: T0 + 11_300, durationMs: 60 },
    { source: 'drill', step: 'steady-state-after', state: 'done', atUnixMs: T0 + 11_480, durationMs: 12_000 },
    { source: 'drill', step: 'revert', state: 'done', atUnixMs: T0 + 24_150, durationMs: 250, detail: { reverted: ['fault record', 'load'] } },
    { source: 'drill', step: 'report', state: 'done', atUnixMs: T0 + 24_400 },
  ];
  const result: DrillResult = {
    workflowId: 'drill-ranking-replica-kill-20250602T095952Z',
    runId: '0197305c-61c2-7d3e-a8a4-9f0e3b1c2d4e',
    scenario: 'ranking-replica-kill',
    title: 'Ranking replica SIGKILL',
    outcome: 'passed',
    reason: 'ranking-service-2 was detected in 1.8 s and steady state restored in 11.5 s; no request failed.',
    spec,
    blastRadius: {
      tier: 'ranking-service',
      instances: ['ranking-service-2'],
      replicas: 2,
      capacityShare: 0.5,
      fault: 'SIGKILL of ranking-service-2 (pid 41233)',
      reverts: ['clear the fault record (TTL 120 s)', 'start ranking-service-2 if it is still down', 'stop the load'],
    },
    marks: {
      startedAtUnixMs: T0 - 7200,
      loadStartedAtUnixMs: T0 - 6000,
      injectedAtUnixMs: T0,
      injectionProvenAtUnixMs: T0 + 310,
      detectedAtUnixMs: T0 + 1840,
      recoveredAtUnixMs: T0 + 11_480,
      loadStoppedAtUnixMs: T0 + 24_000,
      revertedAtUnixMs: T0 + 24_150,
      endedAtUnixMs: T0 + 24_400,
    },
    figures,
    checks: [
      { name: 'steady state before', ok: true, detail: 'p99 21 ms, 0% failed, 0% degraded over the last 5 s (50 requests)', atUnixMs: T0 - 100 },
      { name: 'injection took effect', ok: true, detail: 'ranking-service-2 (pid 41233) is gone', atUnixMs: T0 + 310 },
      { name: 'detected', ok: true, detail: 'incident 17 opened by the liveness probe in 1.8 s (target 3 s)', atUnixMs: T0 + 1840 },
      { name: 'steady state after', ok: true, detail: '2 of 2 replicas serving production; p99 23 ms, 0% failed, 0% degraded', atUnixMs: T0 + 11_480 },
      { name: 'failed share', ok: true, detail: '0 of 300 requests failed (target 0%)', atUnixMs: T0 + 24_000 },
    ],
    steps,
    series,
    score: resilienceScore({ outcome: 'passed', spec, figures }),
    ...over,
  };
  return result;
}
