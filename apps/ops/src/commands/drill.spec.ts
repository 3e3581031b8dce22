// The pure parts of `ops drill …`: options → DrillInput (validated as the workflow validates it),
// the catalog table, what the live view prints as a drill moves, the result and history tables,
// the refusals of an abort that makes no sense, and the schedule's options.
import { InvalidArgumentError } from 'commander';
import { CATALOG, resilienceScore, resolveDrillSpec, SCENARIO_NAMES, type DrillResult } from '@ranksafe/drills';
import type { StoredDrillRun } from '@ranksafe/db';
import type { DrillStatus } from '@ranksafe/workflows';
import { duration, parseDuration } from '../cli';
import {
  abortRefusal,
  catalogTable,
  checkScheduleOptions,
  collect,
  drillEvents,
  drillInput,
  figuresTable,
  fmtFault,
  fmtTarget,
  historyTables,
  OUTCOME_EXIT,
  parseScenario,
  progressOf,
  renderResult,
  renderSchedule,
  renderStatus,
  reportPathsOf,
  trends,
} from './drill';

const T0 = Date.UTC(2026, 11, 2, 7, 15, 0);

const status = (over: Partial<DrillStatus> = {}): DrillStatus => ({
  scenario: 'ranking-replica-kill',
  phase: 'preflight',
  marks: { startedAtUnixMs: T0 },
  checks: [],
  ...over,
});

const blastRadius = {
  tier: 'ranking-service',
  instances: ['ranking-service-2'],
  replicas: 2,
  capacityShare: 0.5,
  fault: 'SIGKILL',
  reverts: ['start ranking-service-2 again if no recovery brought it back', 'stop the load agent (load-agent)'],
};

function result(over: Partial<DrillResult> = {}): DrillResult {
  const spec = resolveDrillSpec({ scenario: 'ranking-replica-kill' });
  const figures: DrillResult['figures'] = {
    mttdMs: 700,
    rtoMs: 8200,
    requests: 400,
    failed: 0,
    failedShare: 0,
    degraded: 6,
    degradedShare: 0.015,
    byStatus: { OK: 394, DEGRADED: 6 },
    before: { requests: 60, ok: 60, failed: 0, degraded: 0, p50Ms: 12, p99Ms: 40 },
    during: { requests: 82, ok: 76, failed: 0, degraded: 6, p50Ms: 15, p99Ms: 180 },
    after: { requests: 50, ok: 50, failed: 0, degraded: 0, p50Ms: 12.4, p99Ms: 41 },
  };
  const outcome = over.outcome ?? 'passed';
  return {
    workflowId: 'drill-ranking-replica-kill-20261202T071500Z',
    runId: 'r-1',
    scenario: 'ranking-replica-kill',
    title: CATALOG['ranking-replica-kill'].title,
    outcome,
    reason: 'ranking-service-2: detected in 700 ms, steady state restored in 8200 ms',
    spec,
    blastRadius,
    marks: { startedAtUnixMs: T0, injectedAtUnixMs: T0 + 7000, detectedAtUnixMs: T0 + 7700, recoveredAtUnixMs: T0 + 15_200, endedAtUnixMs: T0 + 23_000 },
    figures,
    checks: [
      { name: 'steady state before', ok: true, detail: '60 requests, 0 failed', atUnixMs: T0 + 6000 },
      { name: 'steady state after', ok: true, detail: '50 requests, 0 failed', atUnixMs: T0 + 21_000 },
    ],
    steps: [],
    series: [],
    score: resilienceScore({ outcome, spec, figures }),
    ...over,
  };
}

const refused = (f: () => unknown, msg: RegExp, type: ErrorConstructor | typeof InvalidArgumentError = Error) => {
  expect(f).toThrow(type);
  expect(f).toThrow(msg);
};

describe('ops drill run: options → DrillInput', () => {
  it('sets only what was asked for, so the catalog defaults apply to the rest', () => {
    const { input, spec } = drillInput('ranking-replica-kill');
    expect(input).toEqual({ scenario: 'ranking-replica-kill' });
    expect(spec).toEqual(resolveDrillSpec({ scenario: 'ranking-replica-kill' }));
  });

  it('applies every --set (numbers, booleans, JSON parsed) and --dry-run', () => {
    const { input, spec } = drillInput('ranking-replica-latency', {
      set: ['fault.latencyMs=500', 'target.instances=["ranking-service-1"]', 'load.ratePerSec=20', 'expect.rtoTargetMs=30000'],
      dryRun: true,
    });
    expect(input).toEqual({
      scenario: 'ranking-replica-latency',
      fault: { latencyMs: 500 },
      target: { instances: ['ranking-service-1'] },
      load: { ratePerSec: 20 },
      expect: { rtoTargetMs: 30000 },
      dryRun: true,
    });
    // merged over the scenario's defaults
    expect(spec.fault).toMatchObject({ kind: 'latency', latencyMs: 500, methods: ['/ranksafe.v1.Ranking/Rank'] });
    expect(spec.expect).toMatchObject({ mttdTargetMs: 5000, rtoTargetMs: 30000 });
    expect(spec.dryRun).toBe(true);
    expect(collect('b=2', collect('a=1'))).toEqual(['a=1', 'b=2']);
  });

  it('refuses a bad input in one line naming what is wrong, before anything starts', () => {
    refused(
      () => drillInput('nope'),
      /^invalid drill input for nope: scenario must be one of ranking-replica-kill, .* \(got "nope"\) \(the catalog: ops drill list\)$/,
    );
    refused(() => drillInput('ranking-replica-kill', { set: ['fault.latency=5'] }), /fault: Unrecognized key: "latency"/);
    refused(() => drillInput('ranking-replica-kill', { set: ['load.ratePerSec=0'] }), /load\.ratePerSec: /);
    refused(() => drillInput('ranking-replica-kill', { set: ['bogus=1'] }), /unknown field "bogus"/);
    refused(
      () => drillInput('ranking-replica-kill', { set: ['timing.baselineMs=1000'] }),
      /timing\.baselineMs \(1000\) must be at least steadyState\.windowMs \(5000\)/,
    );
    refused(() => drillInput('ranking-replica-kill', { set: ['fault.kind=latency'] }), /fault\.latencyMs must be > 0 for a latency fault/);
    refused(() => drillInput('ranking-replica-kill', { set: ['nokey'] }), /--set takes key=value \(got "nokey"\)/);
    refused(() => drillInput('ranking-replica-kill', { set: ['scenario=ranking-tier-lost'] }), /the scenario is the command's argument, not a --set/);
    for (const f of [() => drillInput('nope'), () => drillInput('ranking-replica-kill', { set: ['a.b=1', 'c=2'] })])
      expect(() => f()).toThrow(expect.objectContaining({ message: expect.not.stringContaining('\n') }));
  });

  it('parses scenario names and durations with days', () => {
    expect(parseScenario('ranking-tier-lost')).toBe('ranking-tier-lost');
    refused(() => parseScenario('ranking'), /want one of ranking-replica-kill, .*got "ranking"/, InvalidArgumentError);
    expect(['7d', '1.5d', '90m', '24h'].map(parseDuration)).toEqual([604_800_000, 129_600_000, 5_400_000, 86_400_000]);
    refused(() => duration('--every', 60_000, 366 * 86_400_000)('30s'), /--every must be a duration .* between 1m and 366d/, InvalidArgumentError);
  });

  it('maps outcomes onto exit codes: 0 passed or dry run, 2 failed or aborted', () => {
    expect(OUTCOME_EXIT).toEqual({ passed: 0, 'dry-run': 0, failed: 2, aborted: 2 });
  });
});

describe('ops drill list', () => {
  it('tables every scenario of the catalog with its target, fault and targets', () => {
    const rows = catalogTable().split('\n');
    expect(rows[0]).toMatch(/^SCENARIO\s+TITLE\s+TARGET\s+FAULT\s+RECOVERY\s+MTTD ≤\s+RTO ≤\s+FAILED ≤\s+DESCRIPTION$/);
    expect(rows).toHaveLength(2 + SCENARIO_NAMES.length);
    expect(rows[2]).toMatch(
      /^ranking-replica-kill\s+Ranking replica SIGKILL\s+ranking-service, one replica\s+SIGKILL\s+recovery-workflow\s+3 s\s+15 s\s+0%\s+kill -9 of one/,
    );
    expect(rows.find((r) => r.startsWith('ranking-replica-latency'))).toMatch(
      /ranking-service, one replica\s+\+3000 ms on \/ranksafe\.v1\.Ranking\/Rank \(TTL 2 min\)\s+recovery-workflow\s+5 s\s+20 s\s+1%/,
    );
    expect(rows.find((r) => r.startsWith('ranking-tier-lost'))).toMatch(/ranking-service, every replica\s+SIGKILL\s+recovery-workflow\s+3 s\s+30 s/);
  });

  it('names targets and faults', () => {
    expect(fmtTarget({ tier: 'retrieval-service', instances: ['retrieval-service-1'], select: 'one' })).toBe('retrieval-service: retrieval-service-1');
    expect(fmtFault({ kind: 'hang', latencyMs: 0, methods: [], ttlMs: 30_000 })).toBe('hang on every method (TTL 30 s)');
    // Every kind of the catalog is named for what it does (not a hang): the scenario's own fault.
    const faultOf = (scenario: string) => fmtFault(resolveDrillSpec({ scenario }).fault);
    expect(faultOf('backup-restore')).toBe('newest snapshot restored into a sandbox (nothing broken)');
    expect(faultOf('bad-model-rollout')).toBe('rollout of minilm-l6-v2/known-bad past the gate');
    expect(faultOf('corrupted-artifact')).toMatch(/^artifact bytes corrupted/);
    expect(faultOf('registry-db-unavailable')).toMatch(/^registry database path cut/);
    expect(faultOf('gpu-unavailable')).toMatch(/^restart with the GPU gone/);
  });
});

describe('ops drill run: the live view', () => {
  const spec = resolveDrillSpec({ scenario: 'ranking-replica-kill' });

  it('prints the phase, the blast radius once known, each check and mark as it happens, the abort and the verdict', () => {
    const s0 = status();
    const s1 = status({ phase: 'baseline', blastRadius, marks: { startedAtUnixMs: T0, loadStartedAtUnixMs: T0 + 500 } });
    const s2 = status({
      ...s1,
      phase: 'observing',
      checks: [{ name: 'steady state before', ok: true, detail: '60 requests, 0 failed', atUnixMs: T0 + 6500 }],
      marks: { ...s1.marks, injectedAtUnixMs: T0 + 7000, injectionProvenAtUnixMs: T0 + 7300 },
      live: { requests: 12, failed: 0, recentP99Ms: 41, capacity: 'ranking-service-2 exited' },
    });
    const s3 = status({ ...s2, marks: { ...s2.marks, detectedAtUnixMs: T0 + 7700 }, live: { ...s2.live!, mttdMs: 700 } });
    const s4 = status({ ...s3, phase: 'reverting', abortRequested: 'aborted by ops: drill over' });
    const s5 = status({
      ...s4,
      phase: 'done',
      outcome: 'aborted',
      reason: 'aborted by ops: drill over',
      score: 0,
      marks: { ...s4.marks, revertedAtUnixMs: T0 + 9000 },
    });
    const now = T0 + 10_000;
    expect(drillEvents(undefined, s0, T0, spec)).toEqual(['07:15:00  phase preflight']);
    expect(drillEvents(s0, s1, now, spec)).toEqual([
      '07:15:10  blast radius: ranking-service-2 of 2 ranking-service replica(s) (50% of capacity), fault SIGKILL; reverts: start ranking-service-2 again if no recovery brought it back; stop the load agent (load-agent)',
      '07:15:00  load started',
      '07:15:10  phase baseline',
    ]);
    expect(drillEvents(s1, s2, now, spec)).toEqual([
      '07:15:06  check steady state before: ok (60 requests, 0 failed)',
      '07:15:07  injected: SIGKILL → ranking-service-2',
      '07:15:07  injection proven +0.3 s',
      '07:15:10  phase observing  | requests 12, failed 0 (0%), p99 41 ms (last 5 s); capacity: ranking-service-2 exited',
    ]);
    expect(drillEvents(s2, s3, now, spec)).toEqual(['07:15:07  detected +0.7 s: MTTD 700 ms (target 3 s)']);
    expect(drillEvents(s3, s3, now, spec)).toEqual([]);
    expect(drillEvents(s3, s4, now, spec)).toEqual([
      '07:15:10  abort requested: aborted by ops: drill over (the fault is reverted, the drill ends as aborted)',
      '07:15:10  phase reverting  | requests 12, failed 0 (0%), p99 41 ms (last 5 s); capacity: ranking-service-2 exited',
    ]);
    expect(drillEvents(s4, s5, now, spec)).toEqual([
      '07:15:09  reverted +2 s',
      '07:15:10  phase done',
      '07:15:10  ABORTED (score 0): aborted by ops: drill over',
    ]);
    const s6 = status({ ...s3, marks: { ...s3.marks, recoveredAtUnixMs: T0 + 15_200 } });
    expect(drillEvents(s3, s6, now, spec)).toEqual(['07:15:15  recovered (steady state) +8.2 s: RTO 8.2 s (target 15 s)']);
  });

  it('fills the fault bar from injection towards the time limit; holding sits where observing is', () => {
    const s = status({ phase: 'holding', marks: { startedAtUnixMs: T0, injectedAtUnixMs: T0 + 1000 } });
    expect(progressOf(s, T0 + 11_000, spec)).toMatchObject({ phase: 'holding', phaseIndex: 4, phases: 8, elapsedMs: 10_000, limitMs: 90_000 });
    expect(progressOf(s, T0 + 500_000, spec).elapsedMs).toBe(90_000);
    expect(progressOf(status(), T0, spec)).toMatchObject({ phaseIndex: 0, elapsedMs: 0, live: 'no load observed yet' });
    const back = status({ phase: 'after', abortRequested: 'x', marks: { startedAtUnixMs: T0, injectedAtUnixMs: T0, recoveredAtUnixMs: T0 + 4000 } });
    expect(progressOf(back, T0 + 60_000, spec)).toMatchObject({ phase: 'after (abort requested)', phaseIndex: 6, elapsedMs: 4000 });
  });
});

describe('ops drill: rendering', () => {
  it('tables the figures against their targets, with the score and where it lost points', () => {
    const rows = figuresTable(result()).split('\n');
    expect(rows[0]).toMatch(/^FIGURE\s+VALUE\s+TARGET$/);
    expect(rows).toContainEqual(expect.stringMatching(/^MTTD\s+700 ms\s+≤ 3 s$/));
    expect(rows).toContainEqual(expect.stringMatching(/^RTO\s+8\.2 s\s+≤ 15 s$/));
    expect(rows).toContainEqual(expect.stringMatching(/^requests\s+400\s*$/));
    expect(rows).toContainEqual(expect.stringMatching(/^failed\s+0 \(0%\)\s+≤ 0%$/));
    expect(rows).toContainEqual(expect.stringMatching(/^degraded\s+6 \(1\.5%\)\s+≤ 5%$/));
    expect(rows).toContainEqual(expect.stringMatching(/^p50 before \/ during \/ after\s+12 ms \/ 15 ms \/ 12 ms\s*$/));
    expect(rows).toContainEqual(expect.stringMatching(/^p99 before \/ during \/ after\s+40 ms \/ 180 ms \/ 41 ms\s+≤ 1\.5 s$/));
    const r = result();
    expect(rows.at(-1)).toMatch(new RegExp(`^score\\s+${r.score.value} / 100\\s+points lost on: recovery`));
  });

  it('renders the result: outcome, reason, blast radius, figures and checks; a dry run without figures', () => {
    const text = renderResult(result());
    expect(text).toMatch(/^drill\s+drill-ranking-replica-kill-20261202T071500Z \(run r-1\)$/m);
    expect(text).toMatch(/^outcome\s+PASSED$/m);
    expect(text).toMatch(/^reason\s+ranking-service-2: detected in 700 ms/m);
    expect(text).toMatch(/^blast radius\s+ranking-service-2 of 2 ranking-service replica\(s\) \(50% of capacity\), fault SIGKILL$/m);
    expect(text).toMatch(/^took\s+23s$/m);
    expect(text).toMatch(/^CHECK\s+OK\s+AT\s+DETAIL$/m);
    expect(text).toMatch(/^steady state after\s+yes\s+07:15:21\s+50 requests, 0 failed$/m);
    const dry = renderResult(result({ outcome: 'dry-run', reason: 'dry run: would SIGKILL ranking-service-2; nothing injected' }));
    expect(dry).toMatch(/^would revert\s+start ranking-service-2 again if no recovery brought it back; stop the load agent \(load-agent\)$/m);
    expect(dry).toMatch(/dry run: nothing was injected, nothing measured$/);
    expect(dry).not.toMatch(/FIGURE/);
  });

  it('renders a running status', () => {
    const text = renderStatus(
      status({
        phase: 'observing',
        blastRadius,
        marks: { startedAtUnixMs: T0, loadStartedAtUnixMs: T0 + 500, injectedAtUnixMs: T0 + 7000, detectedAtUnixMs: T0 + 7700 },
        live: { requests: 30, failed: 1, recentP99Ms: 55, capacity: 'ranking-service-2: incident recovering', mttdMs: 700 },
      }),
      { workflowId: 'drill-x', runId: 'r' },
    );
    expect(text).toMatch(/^drill\s+drill-x \(run r\)$/m);
    expect(text).toMatch(/^phase\s+observing$/m);
    expect(text).toMatch(/^marks\s+load started 07:15:00, injected 07:15:07 \(\+0 s\), detected 07:15:07 \(\+0\.7 s\)$/m);
    expect(text).toMatch(/^MTTD\s+700 ms$/m);
    expect(text).toMatch(/^live\s+requests 30, failed 1 \(3\.33%\), p99 55 ms \(last 5 s\); capacity: ranking-service-2: incident recovering$/m);
    expect(text).toMatch(/no check made$/);
  });

  it("finds the report's files from the memo's reportHtml", () => {
    expect(reportPathsOf('/d/drills/drill-a.html')).toEqual({ html: '/d/drills/drill-a.html', md: '/d/drills/drill-a.md', json: '/d/drills/drill-a.json' });
    expect(reportPathsOf(undefined)).toBeUndefined();
    expect(reportPathsOf(42)).toBeUndefined();
  });
});

describe('ops drill abort: refusals', () => {
  it('refuses when there is nothing to abort, sends otherwise', () => {
    expect(abortRefusal('drill-x', undefined)).toBe('no drill drill-x: nothing to abort');
    expect(abortRefusal('drill-x', 'COMPLETED')).toBe('drill-x is not running (its latest run is completed): nothing to abort');
    expect(abortRefusal('drill-x', 'RUNNING', status({ phase: 'measuring' }))).toMatch(/has ended and is writing its figures/);
    expect(abortRefusal('drill-x', 'RUNNING', status({ phase: 'done', outcome: 'passed' }))).toMatch(/has ended \(passed\)/);
    expect(abortRefusal('drill-x', 'RUNNING', status({ phase: 'after' }))).toMatch(/has reverted its fault/);
    expect(abortRefusal('drill-x', 'RUNNING', status({ phase: 'observing', abortRequested: 'aborted by ops' }))).toMatch(
      /already asked to abort \(aborted by ops\)/,
    );
    expect(abortRefusal('drill-x', 'RUNNING', status({ phase: 'observing' }))).toBeUndefined();
    expect(abortRefusal('drill-x', 'RUNNING', status({ phase: 'preflight' }))).toBeUndefined();
    expect(abortRefusal('drill-x', 'RUNNING')).toBeUndefined();
  });
});

describe('ops drill history', () => {
  const run = (over: Partial<StoredDrillRun>): StoredDrillRun => ({
    workflowId: 'drill-ranking-replica-kill-1',
    runId: 'r',
    scenario: 'ranking-replica-kill',
    target: 'ranking-service-2',
    dryRun: false,
    outcome: 'passed',
    startedAt: new Date(T0),
    endedAt: new Date(T0 + 20_000),
    mttdMs: 700,
    rtoMs: 8200,
    requests: 400,
    failed: 2,
    degraded: 0,
    score: 80,
    result: {},
    ...over,
  });
  const runs = [
    run({ workflowId: 'k4', startedAt: new Date(T0 + 4000), score: 90 }),
    run({
      workflowId: 'k3',
      startedAt: new Date(T0 + 3000),
      dryRun: true,
      outcome: 'dry-run',
      score: 0,
      mttdMs: undefined,
      rtoMs: undefined,
      requests: 0,
      failed: 0,
    }),
    run({ workflowId: 'l1', startedAt: new Date(T0 + 2500), scenario: 'ranking-replica-latency', outcome: 'failed', score: 0, rtoMs: undefined }),
    run({ workflowId: 'k2', startedAt: new Date(T0 + 2000), score: 70 }),
    run({ workflowId: 'k1', startedAt: new Date(T0 + 1000), score: 80 }),
    run({ workflowId: 'k0', startedAt: new Date(T0), outcome: 'running', score: undefined, requests: undefined, failed: undefined }),
  ];

  it('trends each scenario over its scored runs (dry runs and running ones left out)', () => {
    const t = trends(runs);
    expect([...t.keys()]).toEqual(['ranking-replica-kill', 'ranking-replica-latency']);
    expect(t.get('ranking-replica-kill')).toEqual({ runs: 3, last: 90, mean: 80, best: 90, worst: 70, delta: 15 });
    expect(t.get('ranking-replica-latency')).toEqual({ runs: 1, last: 0, mean: 0, best: 0, worst: 0, delta: null });
  });

  it('tables the runs, newest first, then the trends', () => {
    const text = historyTables(runs);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^STARTED\s+SCENARIO\s+TARGET\s+OUTCOME\s+MTTD\s+RTO\s+FAILED\s+SCORE\s+DRILL$/);
    expect(lines[2]).toMatch(/^2026-12-02T07:15:04Z\s+ranking-replica-kill\s+ranking-service-2\s+passed\s+700 ms\s+8\.2 s\s+2 \(0\.5%\)\s+90\s+k4$/);
    expect(lines[3]).toMatch(/^2026-12-02T07:15:03Z\s+ranking-replica-kill\s+ranking-service-2\s+dry-run\s+—\s+—\s+0 \(0%\)\s+-\s+k3$/);
    expect(lines[7]).toMatch(/^2026-12-02T07:15:00Z\s+ranking-replica-kill\s+ranking-service-2\s+running\s+700 ms\s+8\.2 s\s+-\s+-\s+k0$/);
    expect(text).toMatch(/^SCENARIO\s+RUNS\s+LAST\s+MEAN\s+BEST\s+WORST\s+DELTA$/m);
    expect(text).toMatch(/^ranking-replica-kill\s+3\s+90\s+80\s+90\s+70\s+\+15$/m);
    expect(text).toMatch(/^ranking-replica-latency\s+1\s+0\s+0\s+0\s+0\s+-$/m);
    expect(historyTables([])).toBe('no drill runs stored (start one: ops drill run <scenario>)');
    expect(historyTables([runs[1]!])).toMatch(/no scored run to trend/);
  });
});

describe('ops drill schedule: options', () => {
  it('refuses contradicting options', () => {
    refused(() => checkScheduleOptions({ pause: true, resume: true }), /--pause and --resume contradict each other/, InvalidArgumentError);
    refused(() => checkScheduleOptions({ delete: true, pause: true }), /--pause and --delete contradict/, InvalidArgumentError);
    refused(() => checkScheduleOptions({ delete: true, every: 60_000 }), /--delete takes no --every/, InvalidArgumentError);
    expect(() => checkScheduleOptions({ every: 60_000, set: ['load.ratePerSec=5'], pause: true })).not.toThrow();
  });

  it('shows the schedule: interval, state, input and what its runs are called', () => {
    const text = renderSchedule({
      scheduleId: 'drill-ranking-replica-kill',
      scenario: 'ranking-replica-kill',
      created: true,
      intervalMs: 86_400_000,
      paused: false,
      input: { scenario: 'ranking-replica-kill', load: { ratePerSec: 20 } },
      nextActionTimes: [new Date(T0)],
      recentActions: [],
    });
    expect(text).toMatch(/^schedule\s+drill-ranking-replica-kill \(created\)$/m);
    expect(text).toMatch(/^every\s+1d 0h$/m);
    expect(text).toMatch(/^state\s+active$/m);
    expect(text).toMatch(/^input\s+\{"scenario":"ranking-replica-kill","load":\{"ratePerSec":20\}\}$/m);
    expect(text).toMatch(/^runs as\s+drill-ranking-replica-kill-<scheduled time> on drillWorkflow \(overlap: skip\)$/m);
    expect(text).toMatch(/^next runs\s+2026-12-02T07:15:00\.000Z$/m);
  });
});
