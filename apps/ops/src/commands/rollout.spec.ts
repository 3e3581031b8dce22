// The pure parts of `ops rollout …`: options → RolloutInput, the
// refusals of signals that make no sense, and what the status, progress and result look like.
import { ApplicationFailure } from '@temporalio/common';
import { InvalidArgumentError } from 'commander';
import type { RolloutResult, RolloutStatus, StepAnalysis } from '@ranksafe/workflows';
import { duration, parseDuration } from '../cli';
import {
  alreadyRunningMessage,
  analysisTable,
  describeFailure,
  outcomeLine,
  parseRolloutKind,
  parseWeights,
  plainLine,
  progressView,
  renderResult,
  renderStatus,
  rolloutInput,
  runUrl,
  signalRefusal,
  timelineTable,
} from './rollout';

const analysis = (over: Partial<StepAnalysis> = {}): StepAnalysis => ({
  step: 0,
  weight: 0.1,
  startedAtUnixMs: 1_000_000,
  endedAtUnixMs: 1_030_000,
  outcome: 'passed',
  failures: {},
  measurements: [
    { atUnixMs: 1_005_000, conclusive: false, samples: { production: 10, canary: 2, mirrored: 1 }, metrics: [] },
    {
      atUnixMs: 1_010_000,
      conclusive: true,
      samples: { production: 120, canary: 40, mirrored: 30 },
      metrics: [
        { metric: 'error-rate', value: 0.0025, threshold: 0.01, ok: true },
        { metric: 'p99', value: 41.4, threshold: 60, ok: true },
        { metric: 'top10-overlap', value: 0.82, threshold: 0.5, ok: true },
        { metric: 'score-drift', value: 0.0412, threshold: 0.3, ok: true },
      ],
    },
  ],
  ...over,
});

const status = (over: Partial<RolloutStatus> = {}): RolloutStatus => ({
  model: 'minilm-l6-v2',
  version: 'fp32-6b1952614e98',
  kind: 'RANKING_MODEL',
  phase: 'canary',
  productionVersion: 'int8-8036d774d945',
  stepIndex: 0,
  steps: [{ weight: 0.1 }, { weight: 0.5, approval: true }, { weight: 1, approval: true }],
  weight: 0.1,
  paused: false,
  frozen: false,
  awaitingApproval: false,
  quality: { metric: 'ndcg@10', candidate: 0.7123, production: 0.7181, tolerance: 0.02, queries: 50, passed: true },
  snapshotId: 'snap-1',
  analyses: [analysis({ endedAtUnixMs: undefined, outcome: undefined })],
  replicas: ['ranking-service-1', 'ranking-service-2'],
  timeline: [
    { seq: 1, step: 'validate', state: 'completed', atUnixMs: Date.UTC(2026, 0, 1, 12, 0, 0), durationMs: 12 },
    { seq: 2, step: 'snapshot', state: 'completed', atUnixMs: Date.UTC(2026, 0, 1, 12, 0, 1), durationMs: 900, detail: { snapshotId: 'snap-1' } },
  ],
  compensations: [],
  ignoredSignals: [],
  ...over,
});

describe('ops rollout start: options → RolloutInput', () => {
  it('sets only what was asked for, so the workflow defaults apply to the rest', () => {
    expect(rolloutInput('minilm-l6-v2', 'fp32-6b1952614e98')).toEqual({ model: 'minilm-l6-v2', version: 'fp32-6b1952614e98' });
  });

  it('maps every option onto the input', () => {
    expect(
      rolloutInput('minilm-l6-v2', 'fp32-x', {
        kind: parseRolloutKind('ranking'),
        steps: parseWeights('0.1,0.5,1'),
        analysis: duration('--analysis', 1000, 3_600_000)('30s'),
        approval: true,
        tolerance: 0.01,
        mirrorRate: 0.5,
        snapshot: false,
        reason: 'fp32 is more accurate',
      }),
    ).toEqual({
      model: 'minilm-l6-v2',
      version: 'fp32-x',
      kind: 'RANKING_MODEL',
      reason: 'fp32 is more accurate',
      strategy: {
        steps: [{ weight: 0.1 }, { weight: 0.5, approval: true }, { weight: 1, approval: true }],
        mirrorRate: 0.5,
        analysis: { windowMs: 30_000 },
        qualityGate: { tolerance: 0.01 },
        snapshot: false,
      },
    });
    expect(rolloutInput('demo-catalog', 'idx-1', { kind: parseRolloutKind('index'), skipQualityGate: true, snapshot: true })).toEqual({
      model: 'demo-catalog',
      version: 'idx-1',
      kind: 'CATALOG_INDEX',
      strategy: { qualityGate: { skip: true } },
    });
  });

  it('puts approval gates on the default steps when --approval comes without --steps', () => {
    expect(rolloutInput('m', 'v', { approval: true }).strategy?.steps).toEqual([
      { weight: 0.1 },
      { weight: 0.5, approval: true },
      { weight: 1, approval: true },
    ]);
  });

  it('accepts weights as shares or percentages, and durations in ms, s, m', () => {
    expect(parseWeights('0.05, 0.25,1')).toEqual([0.05, 0.25, 1]);
    expect(parseWeights('10%,50%,100%')).toEqual([0.1, 0.5, 1]);
    expect(['1500', '1500ms', '30s', '1.5s', '2m', '1h'].map(parseDuration)).toEqual([1500, 1500, 30_000, 1500, 120_000, 3_600_000]);
    expect(['', '3x', '-1s', 's'].map(parseDuration)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('refuses bad options as InvalidArgumentError, saying what is wrong', () => {
    const refused = (f: () => unknown, msg: RegExp) => {
      expect(f).toThrow(InvalidArgumentError);
      expect(f).toThrow(msg);
    };
    refused(() => parseWeights('0.5,0.1'), /must ascend.*0\.5 then 0\.1/);
    refused(() => parseWeights('0.1,0.1'), /must ascend/);
    refused(() => parseWeights('0,0.5'), /\(0, 1\].*"0"/);
    refused(() => parseWeights('0.5,1.5'), /"1\.5"/);
    refused(() => parseWeights('0.1,,1'), /""/);
    refused(() => parseWeights('half'), /"half"/);
    refused(() => parseRolloutKind('gbdt'), /ranking, index.*"gbdt"/);
    refused(() => duration('--analysis', 1000, 3_600_000)('10'), /--analysis must be a duration .* between 1s and 1h/);
    refused(() => duration('--analysis', 1000, 3_600_000)('soon'), /--analysis must be a duration/);
    refused(() => rolloutInput('m', 'v', { steps: [0.5, 0.2] }), /must ascend/);
    refused(() => rolloutInput('m', 'v', { steps: [1], approval: true }), /at least two --steps/);
    refused(() => rolloutInput('m', 'v', { skipQualityGate: true, tolerance: 0.1 }), /contradict/);
    refused(() => rolloutInput('m', ' '), /version is empty/);
  });
});

describe('ops rollout approve|pause|resume|abort|freeze: refusals', () => {
  it('refuses approve unless the rollout waits for approval', () => {
    expect(signalRefusal('approve', 'minilm-l6-v2', 'RUNNING', status())).toBe(
      'rollout-minilm-l6-v2 is not waiting for approval (canary, step 1/3 at 10%): approve passes the manual gate of a step, which a rollout started with --approval has before every step after the first',
    );
    expect(signalRefusal('approve', 'minilm-l6-v2', 'RUNNING', status({ phase: 'awaiting-approval', awaitingApproval: true }))).toBeUndefined();
  });

  it('refuses resume unless paused, and pause when paused', () => {
    expect(signalRefusal('resume', 'minilm-l6-v2', 'RUNNING', status())).toBe(
      'rollout-minilm-l6-v2 is not paused (canary, step 1/3 at 10%): nothing to resume',
    );
    const paused = status({ phase: 'paused', paused: true });
    expect(signalRefusal('resume', 'minilm-l6-v2', 'RUNNING', paused)).toBeUndefined();
    expect(signalRefusal('pause', 'minilm-l6-v2', 'RUNNING', paused)).toMatch(
      /already paused \(paused, step 1\/3 at 10%\): resume it with ops rollout resume minilm-l6-v2/,
    );
    expect(signalRefusal('pause', 'minilm-l6-v2', 'RUNNING', status())).toBeUndefined();
  });

  it('refuses anything when the rollout is not running', () => {
    expect(signalRefusal('abort', 'minilm-l6-v2', undefined)).toBe('no rollout of minilm-l6-v2 has run: nothing to abort');
    expect(signalRefusal('approve', 'minilm-l6-v2', 'COMPLETED')).toBe('rollout-minilm-l6-v2 is not running (its latest run is completed): nothing to approve');
    expect(signalRefusal('freeze', 'minilm-l6-v2', 'RUNNING', status({ phase: 'rolled-back' }))).toMatch(/has rolled back and is closing: nothing to freeze/);
    expect(signalRefusal('abort', 'minilm-l6-v2', 'RUNNING', status({ phase: 'rolling-back' }))).toMatch(/already rolling back/);
    expect(signalRefusal('abort', 'minilm-l6-v2', 'RUNNING', status())).toBeUndefined();
    expect(signalRefusal('freeze', 'minilm-l6-v2', 'RUNNING', status({ frozen: true, phase: 'frozen' }))).toMatch(/is frozen \(it stopped where it was/);
  });

  it('names the run that holds the id when a second start is refused', () => {
    const msg = alreadyRunningMessage('minilm-l6-v2', { runId: 'r-123', startTime: new Date(Date.now() - 65_000) }, status());
    expect(msg).toMatch(
      /^refused: rollout-minilm-l6-v2 is already running \(run r-123, started 1m \d+s ago, rolling out fp32-6b1952614e98: canary, step 1\/3 at 10%\)/,
    );
    expect(msg).toMatch(/ops rollout abort minilm-l6-v2$/);
  });
});

describe('ops rollout: rendering', () => {
  it('tables the step analyses: weight, outcome, measurements, failures per metric', () => {
    const rows = analysisTable(
      [analysis(), analysis({ step: 1, weight: 0.5, outcome: 'failed', failures: { p99: 2, 'error-rate': 0, 'score-drift': 1 }, reason: 'p99 failed twice' })],
      3,
    ).split('\n');
    expect(rows[0]).toMatch(/^STEP\s+WEIGHT\s+OUTCOME\s+MEASUREMENTS\s+FAILURES\s+TOOK\s+REASON$/);
    expect(rows[2]).toMatch(/^1\/3\s+10%\s+passed\s+2 \(1 conclusive\)\s+-\s+30s\s+-$/);
    expect(rows[3]).toMatch(/^2\/3\s+50%\s+failed\s+2 \(1 conclusive\)\s+p99 2, score-drift 1\s+30s\s+p99 failed twice$/);
    expect(analysisTable([])).toBe('no step analysed');
  });

  it('tables the timeline', () => {
    const rows = timelineTable(status().timeline).split('\n');
    expect(rows[0]).toMatch(/^#\s+AT\s+STEP\s+STATE\s+MS\s+DETAIL$/);
    expect(rows[3]).toMatch(/^2\s+12:00:01\.000\s+snapshot\s+completed\s+900\s+\{"snapshotId":"snap-1"\}$/);
  });

  it('renders a running status: phase, steps, gate, last measurement, then the tables', () => {
    const text = renderStatus(status({ stepIndex: 1, weight: 0.5, phase: 'awaiting-approval', awaitingApproval: true }), {
      workflowId: 'rollout-minilm-l6-v2',
      runId: 'r-1',
    });
    expect(text).toContain('rollout           rollout-minilm-l6-v2 (run r-1)');
    expect(text).toMatch(/phase\s+awaiting-approval, step 2\/3 at 50%/);
    expect(text).toMatch(/steps\s+10% → \[50% \(approval\)\] → 100% \(approval\)/);
    expect(text).toMatch(/waiting\s+for approval: ops rollout approve minilm-l6-v2/);
    expect(text).toMatch(/quality gate\s+ndcg@10 candidate 0\.7123 vs production 0\.7181 \(tolerance 0\.02, 50 queries\): passed/);
    expect(text).toMatch(/last measurement\s+error-rate 0\.25% {2}p99 41 ms {2}top10-overlap 0\.820 {2}score-drift 0\.041 {2}n=40\/120\/30/);
    expect(text).toMatch(/^STEP\s+WEIGHT/m);
    expect(text).toMatch(/^#\s+AT\s+STEP/m);
  });

  it('shows the live progress of the current step, and prints a plain line per phase or step change', () => {
    const s = status();
    const v = progressView(s, 1_012_000, 30_000);
    expect(v).toMatchObject({ stepsDone: 0, stepsTotal: 3, windowMs: 30_000, elapsedMs: 12_000, state: 'canary, step 1/3 at 10%' });
    expect(progressView(s, 2_000_000).elapsedMs).toBe(30_000); // clamped to the window
    expect(progressView(status({ steps: [{ weight: 0.1, analysisMs: 5000 }] }), 1_012_000).windowMs).toBe(5000);
    expect(progressView(status({ paused: true, phase: 'paused' }), 0).state).toBe('paused, step 1/3 at 10% — paused: ops rollout resume minilm-l6-v2');
    expect(progressView(status({ phase: 'succeeded' }), 0).stepsDone).toBe(3);
    expect(progressView(s, 1).key).not.toBe(progressView(status({ stepIndex: 1 }), 1).key);
    const next = status({
      stepIndex: 1,
      weight: 0.5,
      analyses: [analysis(), analysis({ step: 1, weight: 0.5, endedAtUnixMs: undefined, outcome: undefined, measurements: [] })],
    });
    expect(progressView(next, 0).measurement).toMatch(/^step 1 passed: error-rate 0\.25%/);
    expect(plainLine(v, Date.UTC(2026, 0, 1, 12, 0, 5))).toBe(
      '12:00:05  canary, step 1/3 at 10%  | steps 0/3  | error-rate 0.25%  p99 41 ms  top10-overlap 0.820  score-drift 0.041  n=40/120/30 (canary/production/mirrored)  | quality gate: ndcg@10 candidate 0.7123 vs production 0.7181 (tolerance 0.02, 50 queries): passed',
    );
  });

  it('says the outcome in words and ends the report with it', () => {
    const r: RolloutResult = {
      model: 'minilm-l6-v2',
      version: 'fp32-bad',
      kind: 'RANKING_MODEL',
      outcome: 'rolled-back',
      previousVersion: 'int8-8036d774d945',
      reason: 'step 1: top10-overlap failed twice',
      analyses: [analysis({ outcome: 'failed', failures: { 'top10-overlap': 2 } })],
      startedAtUnixMs: 0,
      endedAtUnixMs: 95_000,
      rollbackMs: 812,
      timeline: status().timeline,
    };
    const lines = renderResult(r).split('\n');
    expect(lines.at(-1)).toBe(
      'rolled back: minilm-l6-v2 stays at int8-8036d774d945; fp32-bad was withdrawn (step 1: top10-overlap failed twice); rollback took 812 ms, after 1m 35s',
    );
    expect(lines).toContainEqual(expect.stringMatching(/top10-overlap 2/));
    expect(outcomeLine({ ...r, outcome: 'succeeded', reason: undefined })).toBe(
      'succeeded: minilm-l6-v2 fp32-bad is production (was int8-8036d774d945) after 1 step(s), in 1m 35s',
    );
    expect(outcomeLine({ ...r, outcome: 'frozen', reason: 'by ops' })).toMatch(/^frozen: .* nothing rolled back \(by ops\); an operator takes over/);
  });

  it('lists every problem of an input the workflow refused', () => {
    const f = ApplicationFailure.create({
      type: 'InvalidInput',
      nonRetryable: true,
      message: 'modelRolloutWorkflow: invalid input: version nope is not registered; steps must ascend',
      details: ['version nope is not registered', 'steps must ascend'],
    });
    expect(describeFailure(f, 'rollout-m')).toBe(
      'rollout-m refused its input (nothing was changed):\n  - version nope is not registered\n  - steps must ascend',
    );
    const noDetails = ApplicationFailure.create({ type: 'InvalidInput', message: 'modelRolloutWorkflow: invalid input: a; b' });
    expect(describeFailure(noDetails, 'rollout-m')).toBe('rollout-m refused its input (nothing was changed):\n  - a\n  - b');
    expect(describeFailure(new Error('boom'), 'rollout-m')).toBe('rollout-m failed: boom');
  });

  it('links the run in the Temporal UI when the stack knows where it is', () => {
    expect(runUrl({ temporalUiUrl: 'http://127.0.0.1:8233', temporalNamespace: 'default' }, 'rollout-m', 'r1')).toBe(
      'http://127.0.0.1:8233/namespaces/default/workflows/rollout-m/r1/history',
    );
    expect(runUrl({ temporalNamespace: 'default' }, 'rollout-m', 'r1')).toBeUndefined();
  });
});
