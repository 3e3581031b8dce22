// `ops rollout …`: ModelRollout (libs/workflows/src/rollout, contract in messages.ts) from the
// command line: start it with its strategy as options and follow it live (cli-progress bars on a
// TTY, one line per phase or step change elsewhere), its status and recent runs, and the operator's
// signals (approve, pause, resume, abort, freeze), refused here when they would make no sense.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { type Command, InvalidArgumentError } from 'commander';
import {
  ApplicationFailure,
  type Client,
  type WorkflowExecutionDescription,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { expectedTopology, type StackState } from '@ranksafe/platform';
import {
  abortSignal,
  approveSignal,
  DEFAULT_STEPS,
  DEFAULT_THRESHOLDS,
  freezeSignal,
  ids,
  pauseSignal,
  resumeSignal,
  rolloutStatusQuery,
  SA,
  type CompensationResult,
  type Measurement,
  type MetricResult,
  type QualityGateResult,
  type RolloutInput,
  type RolloutKind,
  type RolloutResult,
  type RolloutStatus,
  type StepAnalysis,
  type TimelineEntry,
} from '@ranksafe/workflows';
import { duration, fields, fmtAge, fmtTime, int, num, run, runWithExitCode, table, withTemporal, type LoadEnv } from '../cli';
import { queryWithDeadline, settlesWithin, sleep } from './follow';

/** The workflow's type name (exported from @ranksafe/workflows as modelRolloutWorkflow). */
export const ROLLOUT_WORKFLOW = 'modelRolloutWorkflow';
type RolloutWorkflow = (input: RolloutInput) => Promise<RolloutResult>;

/** The workflow's defaults, for what ops must spell out itself: steps to put gates on, the window a bar fills. */
export const DEFAULT_WEIGHTS = DEFAULT_STEPS.map((s) => s.weight);
export const DEFAULT_WINDOW_MS = DEFAULT_THRESHOLDS.windowMs;

const OUTCOME_EXIT: Record<RolloutResult['outcome'], number> = { succeeded: 0, 'rolled-back': 2, frozen: 2 };
const ENDED: ReadonlySet<RolloutStatus['phase']> = new Set(['succeeded', 'rolled-back', 'failed', 'frozen']);

// -- options → RolloutInput -----------------------------------------------------------------

export const ROLLOUT_KINDS: Record<string, RolloutKind> = { ranking: 'RANKING_MODEL', index: 'CATALOG_INDEX' };

/** commander parser of --kind ranking|index. */
export function parseRolloutKind(v: string): RolloutKind {
  const k = ROLLOUT_KINDS[v];
  if (!k) throw new InvalidArgumentError(`want one of ${Object.keys(ROLLOUT_KINDS).join(', ')}, got "${v}"`);
  return k;
}

/** commander parser of --steps 0.1,0.5,1 (or 10%,50%,100%): weights in (0, 1], strictly ascending. */
export function parseWeights(v: string): number[] {
  const parts = v.split(',').map((p) => p.trim());
  const weights = parts.map((p) => (p.endsWith('%') ? Number(p.slice(0, -1)) / 100 : p === '' ? NaN : Number(p)));
  const bad = parts.filter((_, i) => !Number.isFinite(weights[i]) || weights[i]! <= 0 || weights[i]! > 1);
  if (bad.length) throw new InvalidArgumentError(`weights are shares of traffic in (0, 1], e.g. 0.1,0.5,1; not ${bad.map((b) => `"${b}"`).join(', ')}`);
  for (let i = 1; i < weights.length; i++) {
    if (weights[i]! <= weights[i - 1]!) throw new InvalidArgumentError(`weights must ascend (each step sends more traffic): ${parts[i - 1]} then ${parts[i]}`);
  }
  return weights;
}

/** `ops rollout start` options as commander hands them over (parsed by the parsers above). */
export interface StartOptions {
  kind?: RolloutKind;
  steps?: number[];
  analysis?: number;
  approval?: boolean;
  tolerance?: number;
  skipQualityGate?: boolean;
  mirrorRate?: number;
  /** false with --no-snapshot. */
  snapshot?: boolean;
  reason?: string;
  detach?: boolean;
}

/**
 * The workflow's one input from the options: only what was asked for is set, so the workflow's
 * defaults apply to the rest (and the input in the Temporal UI reads as what the operator typed).
 * Contradictions are refused as InvalidArgumentError, like a bad option value.
 */
export function rolloutInput(model: string, version: string, o: StartOptions = {}): RolloutInput {
  if (!model.trim()) throw new InvalidArgumentError('the model name is empty');
  if (!version.trim()) throw new InvalidArgumentError('the version is empty');
  if (o.steps) parseWeights(o.steps.join(',')); // the same rules when called without commander
  if (o.skipQualityGate && o.tolerance !== undefined) throw new InvalidArgumentError('--tolerance and --skip-quality-gate contradict each other');
  const weights = o.steps ?? (o.approval ? DEFAULT_WEIGHTS : undefined);
  if (o.approval && weights!.length < 2) throw new InvalidArgumentError('--approval gates every step after the first: give at least two --steps');
  const strategy: NonNullable<RolloutInput['strategy']> = {};
  if (weights) strategy.steps = weights.map((weight, i) => (o.approval && i > 0 ? { weight, approval: true } : { weight }));
  if (o.mirrorRate !== undefined) strategy.mirrorRate = o.mirrorRate;
  if (o.analysis !== undefined) strategy.analysis = { windowMs: o.analysis };
  if (o.skipQualityGate) strategy.qualityGate = { skip: true };
  else if (o.tolerance !== undefined) strategy.qualityGate = { tolerance: o.tolerance };
  if (o.snapshot === false) strategy.snapshot = false;
  return {
    model,
    version,
    ...(o.kind ? { kind: o.kind } : {}),
    ...(Object.keys(strategy).length ? { strategy } : {}),
    ...(o.reason ? { reason: o.reason } : {}),
  };
}

// -- rendering ------------------------------------------------------------------------------

export const fmtWeight = (w: number) => `${+(w * 100).toFixed(1)}%`;
const hms = (ms: number) => new Date(ms).toISOString().slice(11, 19);

export function fmtMetric(m: MetricResult): string {
  const v = (x: number) =>
    m.metric === 'error-rate' ? `${(x * 100).toFixed(2)}%` : m.metric === 'p99' ? `${x.toFixed(0)} ms` : m.metric === 'probe-errors' ? String(x) : x.toFixed(3);
  return `${m.metric} ${v(m.value)}${m.ok ? '' : ` FAIL (limit ${v(m.threshold)})`}`;
}

/** One measurement in a line: its metrics, or why it does not count yet. */
export function fmtMeasurement(m: Measurement | undefined): string {
  if (!m) return 'no measurement yet';
  const n = `n=${m.samples.canary}/${m.samples.production}/${m.samples.mirrored} (canary/production/mirrored)`;
  if (!m.conclusive) return `not enough samples yet, ${n}`;
  return [...m.metrics.map(fmtMetric), n].join('  ');
}

export function fmtGate(q: QualityGateResult | undefined): string {
  if (!q) return 'not run yet';
  if (q.skipped) return 'skipped (--skip-quality-gate)';
  return `${q.metric} candidate ${q.candidate.toFixed(4)} vs production ${q.production.toFixed(4)} (tolerance ${q.tolerance}, ${q.queries} queries): ${q.passed ? 'passed' : 'FAILED'}`;
}

const fmtFailures = (f: Record<string, number>) =>
  Object.entries(f)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || '-';

/**
 * The step analyses as a table. A step's number is its place in the list (analyses are kept one
 * per step, in order).
 */
export function analysisTable(analyses: StepAnalysis[], steps?: number): string {
  if (!analyses.length) return 'no step analysed';
  return table(
    ['STEP', 'WEIGHT', 'OUTCOME', 'MEASUREMENTS', 'FAILURES', 'TOOK', 'REASON'],
    analyses.map((a, i) => [
      steps ? `${i + 1}/${steps}` : String(i + 1),
      fmtWeight(a.weight),
      a.outcome ?? 'running',
      `${a.measurements.length} (${a.measurements.filter((m) => m.conclusive).length} conclusive)`,
      fmtFailures(a.failures),
      a.endedAtUnixMs ? fmtAge(a.endedAtUnixMs - a.startedAtUnixMs) : '-',
      a.reason ?? '-',
    ]),
  );
}

const fmtDetail = (d: Record<string, unknown> | undefined) => {
  if (!d || !Object.keys(d).length) return '-';
  const s = JSON.stringify(d);
  return s.length > 100 ? `${s.slice(0, 99)}…` : s;
};

export function timelineTable(timeline: TimelineEntry[]): string {
  if (!timeline.length) return 'no steps recorded';
  return table(
    ['#', 'AT', 'STEP', 'STATE', 'MS', 'DETAIL'],
    timeline.map((t) => [
      String(t.seq),
      new Date(t.atUnixMs).toISOString().slice(11, 23),
      t.step,
      t.state,
      t.durationMs === undefined ? '' : String(t.durationMs),
      fmtDetail(t.detail),
    ]),
  );
}

const compensationTable = (c: CompensationResult[]) =>
  table(
    ['COMPENSATION', 'OK', 'ERROR'],
    c.map((x) => [x.step, x.ok ? 'yes' : 'NO', x.error ?? '-']),
  );

/** Where a running rollout stands, in a few words: "canary, step 2/3 at 50%". */
export function where(s: RolloutStatus): string {
  const steps = s.steps.length;
  const at = s.stepIndex < 0 ? 'before the first step' : `step ${s.stepIndex + 1}/${steps} at ${fmtWeight(s.weight)}`;
  return `${s.phase}${s.paused && s.phase !== 'paused' ? ' (paused)' : ''}, ${at}`;
}

const stepsLine = (s: RolloutStatus) =>
  s.steps
    .map((st, i) => `${i === s.stepIndex ? '[' : ''}${fmtWeight(st.weight)}${st.approval ? ' (approval)' : ''}${i === s.stepIndex ? ']' : ''}`)
    .join(' → ') || '-';

/** `ops rollout status <model>` of a running rollout: fields, then its analyses, compensations and timeline. */
export function renderStatus(s: RolloutStatus, run?: { workflowId: string; runId: string; startTime?: Date }): string {
  const last = s.analyses.at(-1);
  const out = [
    fields([
      ...(run ? ([['rollout', `${run.workflowId} (run ${run.runId})`]] as Array<[string, string]>) : []),
      ['model', `${s.model} (${s.kind === 'CATALOG_INDEX' ? 'catalog index' : 'ranking model'})`],
      ['candidate', s.version],
      ['production', s.productionVersion ?? '-'],
      ['phase', where(s)],
      ['steps', stepsLine(s)],
      ['weight', `${fmtWeight(s.weight)} of traffic on the candidate`],
      ...(run?.startTime ? ([['running for', fmtAge(Date.now() - run.startTime.getTime())]] as Array<[string, string]>) : []),
      [
        'waiting',
        s.awaitingApproval
          ? `for approval: ops rollout approve ${s.model}`
          : s.paused
            ? `paused: ops rollout resume ${s.model}`
            : s.frozen
              ? 'frozen: an operator has it'
              : '-',
      ],
      ['quality gate', fmtGate(s.quality)],
      ['last measurement', fmtMeasurement(last?.measurements.at(-1))],
      ['snapshot', s.snapshotId ?? '-'],
      ['replicas', s.replicas.join(', ') || '-'],
      ...(s.ignoredSignals.length ? ([['ignored signals', s.ignoredSignals.join('; ')]] as Array<[string, string]>) : []),
      ...(s.error ? ([['error', s.error]] as Array<[string, string]>) : []),
    ]),
    '',
    analysisTable(s.analyses, s.steps.length),
  ];
  if (s.compensations.length) out.push('', compensationTable(s.compensations));
  out.push('', timelineTable(s.timeline));
  return out.join('\n');
}

/** The last line of a run: what happened, in words. */
export function outcomeLine(r: RolloutResult): string {
  const took = fmtAge(r.endedAtUnixMs - r.startedAtUnixMs);
  switch (r.outcome) {
    case 'succeeded':
      return `succeeded: ${r.model} ${r.version} is production (was ${r.previousVersion || 'none'}) after ${r.analyses.length} step(s), in ${took}`;
    case 'rolled-back':
      return `rolled back: ${r.model} stays at ${r.previousVersion || 'its production version'}; ${r.version} was withdrawn${r.reason ? ` (${r.reason})` : ''}${r.rollbackMs !== undefined ? `; rollback took ${r.rollbackMs} ms` : ''}, after ${took}`;
    case 'frozen':
      return `frozen: ${r.model} ${r.version} was left where it stood, nothing rolled back${r.reason ? ` (${r.reason})` : ''}; an operator takes over (production was ${r.previousVersion || 'none'})`;
  }
}

/** End of a followed run, and `ops rollout status` of a closed one: analyses, timeline, then the outcome. */
export function renderResult(r: RolloutResult): string {
  return [
    analysisTable(r.analyses),
    '',
    timelineTable(r.timeline),
    '',
    fields([
      ['quality gate', fmtGate(r.quality)],
      ['snapshot', r.snapshotId ?? '-'],
    ]),
    outcomeLine(r),
  ].join('\n');
}

/** A failed run in words: invalid input as a list of its problems, otherwise the failure and its cause. */
export function describeFailure(e: unknown, workflowId: string): string {
  const cause = e instanceof WorkflowFailedError ? e.cause : e;
  if (cause instanceof ApplicationFailure && cause.type === 'InvalidInput') {
    const problems =
      Array.isArray(cause.details) && cause.details.length && cause.details.every((p) => typeof p === 'string')
        ? (cause.details as string[])
        : cause.message.replace(/^.*?invalid input:\s*/, '').split('; ');
    return [`${workflowId} refused its input (nothing was changed):`, ...problems.map((p) => `  - ${p}`)].join('\n');
  }
  const msg = (x: unknown) => (x instanceof Error ? x.message : String(x));
  const inner = cause instanceof Error ? (cause as Error & { cause?: unknown }).cause : undefined;
  return `${workflowId} failed: ${msg(cause)}${inner ? `: ${msg(inner)}` : ''}`;
}

// -- following a run ------------------------------------------------------------------------

/** What the live view shows of a status at `now` (pure, so the rendering is testable). */
export interface ProgressView {
  /** A change of this prints a line (phase or step changed). */
  key: string;
  stepsDone: number;
  stepsTotal: number;
  windowMs: number;
  elapsedMs: number;
  /** "canary, step 1/3 at 10%" and what it waits for. */
  state: string;
  measurement: string;
  gate: string;
}

/** The current step's last measurement; before it has one, how the step before ended. */
function lastMeasurement(analyses: StepAnalysis[]): string {
  const current = analyses.at(-1);
  const prev = analyses.at(-2);
  if (current && !current.measurements.length && current.endedAtUnixMs === undefined && prev) {
    return `step ${analyses.length - 1} ${prev.outcome ?? 'ended'}: ${fmtMeasurement(prev.measurements.at(-1))}`;
  }
  return fmtMeasurement(current?.measurements.at(-1));
}

export function progressView(s: RolloutStatus, now: number, defaultWindowMs = DEFAULT_WINDOW_MS): ProgressView {
  const current = s.analyses.at(-1);
  const open = current && current.endedAtUnixMs === undefined;
  const windowMs = (s.stepIndex >= 0 ? s.steps[s.stepIndex]?.analysisMs : undefined) ?? defaultWindowMs;
  const elapsedMs = open ? Math.min(windowMs, Math.max(0, now - current.startedAtUnixMs)) : current ? windowMs : 0;
  const wait = s.awaitingApproval
    ? ` — waiting: ops rollout approve ${s.model}`
    : s.paused
      ? ` — paused: ops rollout resume ${s.model}`
      : s.frozen
        ? ' — frozen: an operator has it'
        : '';
  return {
    key: `${s.phase}|${s.stepIndex}|${s.paused}|${s.frozen}|${s.awaitingApproval}`,
    stepsDone: s.phase === 'succeeded' ? s.steps.length : s.analyses.filter((a) => a.outcome === 'passed').length,
    stepsTotal: s.steps.length,
    windowMs,
    elapsedMs,
    state: `${where(s)}${wait}`,
    measurement: lastMeasurement(s.analyses),
    gate: fmtGate(s.quality),
  };
}

/** The line a non-TTY follower prints at each phase or step change. */
export function plainLine(v: ProgressView, now: number): string {
  return `${hms(now)}  ${v.state}  | steps ${v.stepsDone}/${v.stepsTotal}  | ${v.measurement}  | quality gate: ${v.gate}`;
}

interface View {
  update(v: ProgressView, now: number): void;
  note(text: string): void;
  stop(): void;
}

/** Non-TTY (CI, pipes): one line per change. */
function plainView(out: NodeJS.WritableStream): View {
  let key = '';
  return {
    update(v, now) {
      if (v.key === key) return;
      key = v.key;
      out.write(`${plainLine(v, now)}\n`);
    },
    note: (text) => out.write(`${text}\n`),
    stop() {},
  };
}

/** TTY: three lines redrawn in place (steps, the current analysis window, the quality gate); each change is logged above them. */
function ttyView(out: NodeJS.WritableStream): View {
  const bars = new MultiBar(
    { stream: out, hideCursor: true, clearOnComplete: false, autopadding: true, barsize: 24, fps: 5, gracefulExit: false, emptyOnZero: true },
    Presets.shades_classic,
  );
  const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;
  let steps: SingleBar | undefined;
  let window: SingleBar | undefined;
  let gate: SingleBar | undefined;
  let key = '';
  return {
    update(v, now) {
      if (!steps) {
        steps = bars.create(v.stepsTotal || 1, v.stepsDone, { state: v.state }, { format: 'steps     {bar} {value}/{total}  {state}' });
        window = bars.create(v.windowMs, v.elapsedMs, { t: '', measurement: v.measurement }, { format: 'analysis  {bar} {t}  {measurement}' });
        gate = bars.create(1, 0, { gate: v.gate }, { format: 'quality   gate: {gate}' });
      }
      if (v.key !== key) {
        bars.log(`${plainLine(v, now)}\n`);
        key = v.key;
      }
      steps.setTotal(v.stepsTotal || 1);
      steps.update(v.stepsDone, { state: v.state });
      window!.setTotal(v.windowMs);
      window!.update(v.elapsedMs, { t: `${seconds(v.elapsedMs)}/${seconds(v.windowMs)}`, measurement: v.measurement });
      gate!.update(0, { gate: v.gate });
    },
    note: (text) => bars.log(`${text}\n`),
    stop: () => bars.stop(),
  };
}

/** The status query, bounded (see queryWithDeadline). */
const queryStatus = (h: WorkflowHandle, ms: number): Promise<RolloutStatus> => queryWithDeadline(h, rolloutStatusQuery, ms);

export interface FollowOptions {
  /** Where the live view goes (default stderr). */
  out?: NodeJS.WritableStream;
  /** Default: whether `out` is a TTY. */
  tty?: boolean;
  pollMs?: number;
  /** Analysis window of a step without its own (as the input asked, else the workflow's default). */
  windowMs?: number;
}

/**
 * Follow a run to its end: poll the status query (~1/s) into the live view, then the analyses,
 * the timeline and the outcome. Exit code 0 succeeded, 2 rolled back or frozen, 1 failed.
 */
export async function followRollout(h: WorkflowHandle, o: FollowOptions = {}): Promise<{ text: string; exitCode: number }> {
  const out = o.out ?? process.stderr;
  const tty = o.tty ?? Boolean((out as NodeJS.WriteStream).isTTY);
  const view = tty ? ttyView(out) : plainView(out);
  const done = h.result().then(
    (r: RolloutResult) => ({ ok: true as const, r }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  let last: RolloutStatus | undefined;
  const t0 = Date.now();
  let hinted = false;
  const interrupt = () => {
    view.stop();
    process.stderr.write(`\nstopped following ${h.workflowId}; the rollout goes on: ops rollout status ${h.workflowId.replace(/^rollout-/, '')}\n`);
    process.exit(130);
  };
  process.once('SIGINT', interrupt);
  try {
    for (;;) {
      const s = await queryStatus(h, 5000).catch(() => undefined);
      if (s) {
        last = s;
        view.update(progressView(s, Date.now(), o.windowMs), Date.now());
      } else if (!last && !hinted && Date.now() - t0 > 10_000) {
        hinted = true;
        view.note(`${h.workflowId} has not answered its status query yet: is the drill-worker running (and does it register ${ROLLOUT_WORKFLOW})?`);
      }
      if (await settlesWithin(done, o.pollMs ?? 1000)) break;
    }
  } finally {
    process.removeListener('SIGINT', interrupt);
    view.stop();
  }
  const r = await done;
  if (r.ok) return { text: renderResult(r.r), exitCode: OUTCOME_EXIT[r.r.outcome] ?? 1 };
  const failure = describeFailure(r.e, h.workflowId);
  const report =
    last && (last.analyses.length || last.timeline.length) ? `${analysisTable(last.analyses, last.steps.length)}\n\n${timelineTable(last.timeline)}\n\n` : '';
  return { text: `${report}failed: ${failure}`, exitCode: 1 };
}

// -- commands -------------------------------------------------------------------------------

/** The Temporal UI page of a run, when the stack knows the UI's address. */
export function runUrl(state: Pick<StackState, 'temporalUiUrl' | 'temporalNamespace'>, workflowId: string, runId: string): string | undefined {
  if (!state.temporalUiUrl) return undefined;
  return `${state.temporalUiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(state.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}/${runId}/history`;
}

async function describeOrUndefined(h: WorkflowHandle): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await h.describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}

/** The refusal of a second start: which run holds the id, and what it is doing. */
export function alreadyRunningMessage(model: string, running: { runId: string; startTime?: Date } | undefined, s: RolloutStatus | undefined): string {
  const run = running ? `run ${running.runId}${running.startTime ? `, started ${fmtAge(Date.now() - running.startTime.getTime())} ago` : ''}` : 'run unknown';
  const what = s ? `, rolling out ${s.version}: ${where(s)}` : '';
  return `refused: ${ids.rollout(model)} is already running (${run}${what}). One rollout per model at a time: follow it with ops rollout status ${model}, or end it with ops rollout abort ${model}`;
}

export async function rolloutStart(
  client: Client,
  state: Pick<StackState, 'temporalTaskQueue' | 'temporalUiUrl' | 'temporalNamespace'>,
  input: RolloutInput,
  o: FollowOptions & { detach?: boolean } = {},
): Promise<{ text: string; exitCode: number }> {
  const workflowId = ids.rollout(input.model);
  let h: WorkflowHandleWithFirstExecutionRunId<RolloutWorkflow>;
  try {
    h = await client.workflow.start<RolloutWorkflow>(ROLLOUT_WORKFLOW, {
      taskQueue: state.temporalTaskQueue,
      workflowId,
      args: [input],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
    });
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    const other = client.workflow.getHandle(workflowId);
    const d = await describeOrUndefined(other).catch(() => undefined);
    const s = await queryStatus(other, 3000).catch(() => undefined);
    throw new Error(alreadyRunningMessage(input.model, d, s));
  }
  const runId = h.firstExecutionRunId;
  const url = runUrl(state, workflowId, runId);
  const started = fields([['workflow', workflowId], ['run', runId], ...(url ? ([['ui', url]] as Array<[string, string]>) : [])]);
  if (o.detach) {
    return { text: `${started}\nfollow it: ops rollout status ${input.model}`, exitCode: 0 };
  }
  (o.out ?? process.stderr).write(`rolling out ${input.model} ${input.version}\n${started}\n`);
  return followRollout(h, { ...o, windowMs: o.windowMs ?? input.strategy?.analysis?.windowMs });
}

/** `ops rollout status <model>`: the live status of a running rollout, else the result (or failure) of its latest run. */
export async function rolloutStatusOf(client: Client, model: string): Promise<string> {
  const h = client.workflow.getHandle<RolloutWorkflow>(ids.rollout(model));
  const d = await describeOrUndefined(h);
  if (!d) return `no rollout of ${model} has run (start one: ops rollout start ${model} <version>)`;
  const head = fields([
    ['rollout', `${d.workflowId} (run ${d.runId})`],
    ['state', d.status.name.toLowerCase()],
    ['started', d.startTime.toISOString()],
    ['closed', d.closeTime ? `${d.closeTime.toISOString()} (${fmtAge(d.closeTime.getTime() - d.startTime.getTime())})` : '-'],
  ]);
  if (d.status.name === 'RUNNING') {
    const s = await queryStatus(h, 5000).catch((e: Error) => {
      throw new Error(`${d.workflowId} is running but did not answer its status query (${e.message}): is the drill-worker up?`);
    });
    return renderStatus(s, d);
  }
  const r = await h.result().then(
    (x) => ({ ok: true as const, x }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  return `${head}\n\n${r.ok ? renderResult(r.x) : `failed: ${describeFailure(r.e, d.workflowId)}`}`;
}

/** `ops rollout status`: recent rollouts from Temporal visibility, newest first. */
export async function rolloutList(client: Client, limit: number): Promise<string> {
  const rows: string[][] = [];
  for await (const w of client.workflow.list({ query: `Operation = 'rollout'` })) {
    const sa = w.typedSearchAttributes;
    const end = w.closeTime?.getTime();
    rows.push([
      w.workflowId,
      sa.get(SA.ModelVersion) ?? '-',
      sa.get(SA.OperationState) ?? '-',
      w.status.name.toLowerCase(),
      fmtTime(w.startTime.getTime()),
      end ? fmtAge(end - w.startTime.getTime()) : `${fmtAge(Date.now() - w.startTime.getTime())} so far`,
      w.runId,
      typeof w.memo?.summary === 'string' ? w.memo.summary : '-',
    ]);
    if (rows.length >= limit) break;
  }
  if (!rows.length) return 'no rollouts recorded (start one: ops rollout start <model> <version>)';
  return table(['ROLLOUT', 'VERSION', 'STATE', 'STATUS', 'STARTED', 'TOOK', 'RUN', 'SUMMARY'], rows);
}

export type RolloutAction = 'approve' | 'pause' | 'resume' | 'abort' | 'freeze';
const SIGNALS = { approve: approveSignal, pause: pauseSignal, resume: resumeSignal, abort: abortSignal, freeze: freezeSignal } as const;

/**
 * Why `action` makes no sense now, or undefined when it may be sent. `executionStatus` is the
 * latest run's (undefined: none ever ran); `s` its status query's answer while it runs.
 */
export function signalRefusal(action: RolloutAction, model: string, executionStatus: string | undefined, s?: RolloutStatus): string | undefined {
  const id = ids.rollout(model);
  if (!executionStatus) return `no rollout of ${model} has run: nothing to ${action}`;
  if (executionStatus !== 'RUNNING') return `${id} is not running (its latest run is ${executionStatus.toLowerCase()}): nothing to ${action}`;
  if (!s) return undefined;
  if (ENDED.has(s.phase))
    return s.phase === 'frozen'
      ? `${id} is frozen (it stopped where it was; an operator has it): nothing to ${action}`
      : `${id} has ${s.phase === 'failed' ? 'failed' : s.phase === 'succeeded' ? 'succeeded' : 'rolled back'} and is closing: nothing to ${action}`;
  switch (action) {
    case 'approve':
      return s.awaitingApproval
        ? undefined
        : `${id} is not waiting for approval (${where(s)}): approve passes the manual gate of a step, which a rollout started with --approval has before every step after the first`;
    case 'resume':
      return s.paused ? undefined : `${id} is not paused (${where(s)}): nothing to resume`;
    case 'pause':
      return s.paused ? `${id} is already paused (${where(s)}): resume it with ops rollout resume ${model}` : undefined;
    case 'freeze':
      return undefined;
    case 'abort':
      return s.phase === 'rolling-back' ? `${id} is already rolling back` : undefined;
  }
}

const signature = (s: RolloutStatus) => `${s.phase}|${s.paused}|${s.frozen}|${s.awaitingApproval}|${s.stepIndex}|${s.ignoredSignals.length}`;

/** Send an operator's signal after checking it makes sense; then say the phase it led to. */
export async function rolloutSignal(client: Client, model: string, action: RolloutAction, reason?: string, waitMs = 5000): Promise<string> {
  const h = client.workflow.getHandle<RolloutWorkflow>(ids.rollout(model));
  const d = await describeOrUndefined(h);
  const before =
    d?.status.name === 'RUNNING'
      ? await queryStatus(h, 5000).catch((e: Error) => {
          throw new Error(`${h.workflowId} did not answer its status query (${e.message}); nothing sent`);
        })
      : undefined;
  const refusal = signalRefusal(action, model, d?.status.name, before);
  if (refusal) throw new Error(`refused: ${refusal}`);
  const payload = { by: 'ops', ...(reason ? { reason } : {}) };
  await h.signal(SIGNALS[action], payload);
  // What it led to: the first status that differs (or the run's end), within waitMs.
  const until = Date.now() + waitMs;
  let after: RolloutStatus | undefined;
  while (Date.now() < until) {
    await sleep(200);
    after = await queryStatus(h, 2000).catch(() => after);
    if (after && signature(after) !== signature(before!)) break;
  }
  if (after && after.ignoredSignals.length > before!.ignoredSignals.length) {
    throw new Error(`${h.workflowId} ignored ${action}: ${after.ignoredSignals.at(-1)}`);
  }
  if (!after) return `${action} sent to ${h.workflowId}; no status since (ops rollout status ${model})`;
  const changed = signature(after) !== signature(before!);
  return `${action} sent to ${h.workflowId}: ${changed ? `${where(before!)} -> ${where(after)}` : `still ${where(after)} (it may take a moment: ops rollout status ${model})`}`;
}

// -- wiring ---------------------------------------------------------------------------------

const ACTIONS: Record<RolloutAction, string> = {
  approve: 'let a rollout waiting at a manual gate go on to its next step',
  pause: 'hold at the current weight (the analysis keeps running; the step timer stops)',
  resume: 'go on after a pause',
  abort: 'roll back now: traffic to production, alias restored, candidate unloaded',
  freeze: 'stop where it is and roll nothing back (an operator takes over)',
};

export function addRolloutCommands(program: Command, loadEnv: LoadEnv): void {
  const rollout = program
    .command('rollout')
    .description(
      'roll a model version or catalog index out by canary steps (the ModelRollout workflow): start and follow, status, approve/pause/resume/abort/freeze',
    );
  rollout
    .command('start <model> <version>')
    .description('start rollout-<model> (one at a time per model) and follow it live; exit 0 succeeded, 2 rolled back or frozen, 1 failed')
    .option('--kind <kind>', 'ranking (a ranking model, canary by traffic share) or index (a catalog index, canary = one retrieval replica)', parseRolloutKind)
    .option('--steps <weights>', 'canary weights in (0, 1], ascending (default 0.1,0.5,1)', parseWeights)
    .option('--analysis <duration>', 'analysis window per step, e.g. 30s, 2m, 1500ms (default 30s)', duration('--analysis', 1000, 24 * 3_600_000))
    .option('--approval', 'every step after the first waits for ops rollout approve')
    .option('--tolerance <ndcg>', 'quality gate: candidate NDCG@10 must be >= production - this (default 0.02)', num('--tolerance', 0, 1))
    .option('--skip-quality-gate', 'do not run the offline quality gate (on purpose only)')
    .option('--mirror-rate <share>', 'share of production requests also ranked by the candidate and compared (default 0.25)', num('--mirror-rate', 0, 1))
    .option('--no-snapshot', 'skip the verified registry snapshot taken before anything moves')
    .option('--reason <text>', 'why (kept in the alias history and the operations log)')
    .option('--detach', 'return once started: print the workflow id, run id and its Temporal UI page')
    .action(
      runWithExitCode(async (model: string, version: string, o: StartOptions) => {
        const input = rolloutInput(model, version, o);
        const state = expectedTopology(loadEnv());
        return withTemporal(state, (client) => rolloutStart(client, state, input, { detach: o.detach }));
      }),
    );
  rollout
    .command('status [model]')
    .description("a model's rollout (live status, or the result of its latest run); without a model, recent rollouts")
    .option('-n, --limit <n>', 'how many recent rollouts', int('--limit', 1, 1000), 20)
    .action(
      run((model: string | undefined, o: { limit: number }) => {
        const state = expectedTopology(loadEnv());
        return withTemporal(state, (client) => (model ? rolloutStatusOf(client, model) : rolloutList(client, o.limit)));
      }),
    );
  for (const action of Object.keys(ACTIONS) as RolloutAction[]) {
    rollout
      .command(`${action} <model>`)
      .description(ACTIONS[action])
      .option('--reason <text>', 'why (kept in the operations log)')
      .action(
        run((model: string, o: { reason?: string }) => {
          const state = expectedTopology(loadEnv());
          return withTemporal(state, (client) => rolloutSignal(client, model, action, o.reason));
        }),
      );
  }
}
