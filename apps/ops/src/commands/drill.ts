// `ops drill …`: DrillWorkflow (libs/workflows/src/drill, contract in messages.ts) from the command
// line: the scenario catalog; a run started with its overrides (validated here first, so a bad
// input starts nothing) and followed live (cli-progress bars on a TTY, one line per phase, mark or
// check elsewhere) with its result and report; its status and the abort signal; the report of a
// stored run regenerated from Postgres; the history with each scenario's score trend; and a
// recurring drill as a Temporal Schedule. Exit codes as `ops rollout start`: 0 passed (or a dry
// run), 2 failed or aborted, 1 an error.
import * as path from 'node:path';
import * as readline from 'node:readline';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { type Command, InvalidArgumentError } from 'commander';
import {
  type Client,
  type WorkflowExecutionDescription,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { writeDrillReport, type DrillReportPaths } from '@ranksafe/activities';
import { createPool, getDrillRun, listDrillRuns, type StoredDrillRun } from '@ranksafe/db';
import {
  applySetting,
  CATALOG,
  DrillSpecError,
  formatMs,
  formatOffset,
  formatShare,
  resolveDrillSpec,
  SCENARIO_NAMES,
  SCENARIOS,
  scoreTrend,
  trim,
  type DrillCheck,
  type DrillInput,
  type DrillMarks,
  type DrillOutcome,
  type DrillResult,
  type DrillSpec,
  type PhaseFigures,
  type ScenarioName,
  type ScoreTrend,
} from '@ranksafe/drills';
import {
  dataDir,
  deleteDrillSchedule,
  describeDrillSchedule,
  drillScheduleId,
  ensureDrillSchedule,
  expectedTopology,
  type DrillScheduleState,
  type StackEnv,
  type StackState,
} from '@ranksafe/platform';
import { drillAbortSignal, drillStatusQuery, ids, SA, type DrillPhase, type DrillStatus } from '@ranksafe/workflows';
import { duration, fields, fmtAge, fmtTime, int, run, runWithExitCode, table, withTemporal, type LoadEnv } from '../cli';
import { describeFailure, runUrl } from './rollout';
import { queryWithDeadline, settlesWithin, sleep } from './follow';

/** The workflow's type name (exported from @ranksafe/workflows as drillWorkflow). */
export const DRILL_WORKFLOW = 'drillWorkflow';
type DrillWorkflow = (input: DrillInput) => Promise<DrillResult>;

export const OUTCOME_EXIT: Record<DrillOutcome, number> = { passed: 0, 'dry-run': 0, failed: 2, aborted: 2 };
/** A follower that stopped following (Ctrl-C) before the drill ended. */
export const EXIT_INTERRUPTED = 130;

/** Where reports go when no --out is given: `<data dir>/drills`, where the embedded stack's drill-worker writes them. */
export const defaultReportDir = (cfg: Pick<StackEnv, 'RANKSAFE_DATA_DIR'>) => path.join(dataDir(cfg.RANKSAFE_DATA_DIR), 'drills');

// -- options → DrillInput -------------------------------------------------------------------

/** commander collector of a repeatable option (--set a=1 --set b=2). */
export const collect = (v: string, prev: string[] = []) => [...prev, v];

/** commander parser of a scenario name (one of the catalog's). */
export function parseScenario(v: string): ScenarioName {
  if (!(SCENARIO_NAMES as readonly string[]).includes(v)) throw new InvalidArgumentError(`want one of ${SCENARIO_NAMES.join(', ')}, got "${v}"`);
  return v as ScenarioName;
}

export interface InputOptions {
  /** key=value settings (`fault.latencyMs=500`), applied in order with applySetting. */
  set?: string[];
  dryRun?: boolean;
}

/**
 * The workflow's one input from the scenario and the options: only what was asked for is set, so
 * the catalog's defaults apply to the rest (and the input in the Temporal UI reads as what the
 * operator typed), with the spec it resolves to. Validated as the workflow validates it
 * (resolveDrillSpec): a bad input throws one line naming every problem, before anything starts.
 */
export function drillInput(scenario: string, o: InputOptions = {}): { input: DrillInput; spec: DrillSpec } {
  const input: Record<string, unknown> = { scenario };
  try {
    for (const s of o.set ?? []) {
      if (/^\s*scenario\s*=/.test(s)) throw new DrillSpecError([`the scenario is the command's argument, not a --set (got --set ${s})`]);
      applySetting(input, s);
    }
    if (o.dryRun) input['dryRun'] = true;
    const spec = resolveDrillSpec(input);
    return { input: input as unknown as DrillInput, spec };
  } catch (e) {
    if (e instanceof DrillSpecError) throw new Error(`invalid drill input for ${scenario}: ${e.problems.join('; ')} (the catalog: ops drill list)`);
    throw e;
  }
}

// -- rendering ------------------------------------------------------------------------------

const hms = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** "ranking-service, one replica" / "ranking-service, every replica" / "ranking-service: ranking-service-2". */
export function fmtTarget(t: DrillSpec['target']): string {
  if (t.instances.length) return `${t.tier}: ${t.instances.join(', ')}`;
  return `${t.tier}, ${t.select === 'all' ? 'every replica' : 'one replica'}`;
}

/** The fault as the blast radius names it (every kind: a new kind that is not named here does not compile). */
export function fmtFault(f: DrillSpec['fault']): string {
  const on = f.methods.join(', ') || 'every method';
  const ttl = `(TTL ${formatMs(f.ttlMs)})`;
  switch (f.kind) {
    case 'kill':
      return 'SIGKILL';
    case 'latency':
      return `+${f.latencyMs} ms on ${on} ${ttl}`;
    case 'hang':
      return `hang on ${on} ${ttl}`;
    case 'restore':
      return 'newest snapshot restored into a sandbox (nothing broken)';
    case 'bad-rollout': {
      const r = f.rollout ?? { model: 'minilm-l6-v2', version: '', strategy: {} };
      const pastGate = (r.strategy['qualityGate'] as { skip?: boolean } | undefined)?.skip === true;
      return `rollout of ${r.model}/${r.version || 'known-bad'}${pastGate ? ' past the gate' : ''}`;
    }
    case 'corrupt-artifact':
      return `artifact bytes corrupted (store + cache) ${ttl}`;
    case 'db-cut':
      return `registry database path cut ${ttl}`;
    case 'gpu-lost':
      return `restart with the GPU gone (cuda → cpu) ${ttl}`;
  }
}

/** `ops drill list`: the catalog with the defaults that matter most (every field can be overridden with --set). */
export function catalogTable(): string {
  return table(
    ['SCENARIO', 'TITLE', 'TARGET', 'FAULT', 'RECOVERY', 'MTTD ≤', 'RTO ≤', 'FAILED ≤', 'DESCRIPTION'],
    SCENARIOS.map((s) => {
      const spec = resolveDrillSpec({ scenario: s.name });
      return [
        s.name,
        s.title,
        fmtTarget(spec.target),
        fmtFault(spec.fault),
        spec.expect.recovery,
        formatMs(spec.expect.mttdTargetMs),
        formatMs(spec.expect.rtoTargetMs),
        formatShare(spec.expect.maxFailedShare),
        s.description,
      ];
    }),
  );
}

const phaseMs = (p: PhaseFigures | undefined, key: 'p50Ms' | 'p99Ms') => (p && p.ok > 0 ? formatMs(p[key]) : '—');
const countShare = (n: number, share: number) => `${n} (${formatShare(share)})`;

/** The parts of the score that lost points: "detection 0.8, recovery 0.5". */
function pointsLost(r: DrillResult): string {
  return (r.score?.parts ?? [])
    .filter((p) => p.weight > 0 && p.value < 1)
    .map((p) => `${p.name} ${trim(p.value, 2)}`)
    .join(', ');
}

/** The blast radius in one line. */
export function fmtBlastRadius(b: NonNullable<DrillStatus['blastRadius']>): string {
  const hit = b.instances.length ? b.instances.join(', ') : 'nothing';
  return `${hit} of ${b.replicas} ${b.tier} replica(s) (${formatShare(b.capacityShare)} of capacity), fault ${b.fault}`;
}

/** The figures of a run as a table: value and target of each (MTTD, RTO, requests, failed, degraded, p50/p99 by phase, score). */
export function figuresTable(r: DrillResult): string {
  const f = r.figures;
  const x = r.spec.expect;
  const lost = pointsLost(r);
  return table(
    ['FIGURE', 'VALUE', 'TARGET'],
    [
      ['MTTD', formatMs(f.mttdMs), `≤ ${formatMs(x.mttdTargetMs)}`],
      ['RTO', formatMs(f.rtoMs), `≤ ${formatMs(x.rtoTargetMs)}`],
      ...(isNum(f.rpoMs) ? [['RPO', formatMs(f.rpoMs), '']] : []),
      ['requests', String(f.requests), ''],
      ['failed', countShare(f.failed, f.failedShare), `≤ ${formatShare(x.maxFailedShare)}`],
      ['degraded', countShare(f.degraded, f.degradedShare), `≤ ${formatShare(r.spec.steadyState.maxDegradedShare)}`],
      ['p50 before / during / after', `${phaseMs(f.before, 'p50Ms')} / ${phaseMs(f.during, 'p50Ms')} / ${phaseMs(f.after, 'p50Ms')}`, ''],
      [
        'p99 before / during / after',
        `${phaseMs(f.before, 'p99Ms')} / ${phaseMs(f.during, 'p99Ms')} / ${phaseMs(f.after, 'p99Ms')}`,
        `≤ ${formatMs(r.spec.steadyState.maxP99Ms)}`,
      ],
      ['score', `${trim(r.score?.value ?? 0, 1)} / 100`, lost ? `points lost on: ${lost}` : ''],
    ],
  );
}

export function checksTable(checks: DrillCheck[]): string {
  if (!checks.length) return 'no check made';
  return table(
    ['CHECK', 'OK', 'AT', 'DETAIL'],
    checks.map((c) => [c.name, c.ok ? 'yes' : 'NO', hms(c.atUnixMs), c.detail]),
  );
}

/** The end of a followed run, and `ops drill status` of a closed one: outcome, reason, figures, checks. */
export function renderResult(r: DrillResult): string {
  const head = fields([
    ['drill', `${r.workflowId} (run ${r.runId})`],
    ['scenario', `${r.scenario}: ${r.title}`],
    ['outcome', r.outcome.toUpperCase()],
    ['reason', r.reason],
    ['blast radius', r.blastRadius.instances.length ? fmtBlastRadius(r.blastRadius) : `nothing hit (${r.blastRadius.tier})`],
    ...(r.outcome === 'dry-run' ? ([['would revert', r.blastRadius.reverts.join('; ') || '-']] as Array<[string, string]>) : []),
    ['took', isNum(r.marks.endedAtUnixMs) ? fmtAge(r.marks.endedAtUnixMs - r.marks.startedAtUnixMs) : '-'],
  ]);
  if (r.outcome === 'dry-run') return `${head}\n\ndry run: nothing was injected, nothing measured`;
  return [head, '', figuresTable(r), '', checksTable(r.checks)].join('\n');
}

/** The report files of a run: the HTML path from the workflow's memo, and its siblings (writeDrillReport writes all three). */
export function reportPathsOf(reportHtml: unknown): DrillReportPaths | undefined {
  if (typeof reportHtml !== 'string' || !reportHtml.endsWith('.html')) return undefined;
  const stem = reportHtml.slice(0, -'.html'.length);
  return { html: reportHtml, md: `${stem}.md`, json: `${stem}.json` };
}

export const fmtReportPaths = (p: DrillReportPaths) =>
  fields([
    ['html', p.html],
    ['markdown', p.md],
    ['json', p.json],
  ]);

// -- the live view --------------------------------------------------------------------------

/** The phases in order, for the phase bar (holding is where observing is, for a fault the drill clears itself). */
export const PHASES: DrillPhase[] = ['preflight', 'baseline', 'injecting', 'proving', 'observing', 'reverting', 'after', 'measuring', 'done'];
const phaseIndex = (p: DrillPhase) => Math.max(0, PHASES.indexOf(p === 'holding' ? 'observing' : p));

/** The marks a follower reports as they happen, in the drill's order. */
const MARKS: Array<{ field: keyof DrillMarks; label: string }> = [
  { field: 'loadStartedAtUnixMs', label: 'load started' },
  { field: 'injectedAtUnixMs', label: 'injected' },
  { field: 'injectionProvenAtUnixMs', label: 'injection proven' },
  { field: 'detectedAtUnixMs', label: 'detected' },
  { field: 'recoveredAtUnixMs', label: 'recovered (steady state)' },
  { field: 'revertedAtUnixMs', label: 'reverted' },
  { field: 'loadStoppedAtUnixMs', label: 'load stopped' },
];

/** What the drill has seen since injection, in a line: "requests 120, failed 0 (0%), p99 42 ms; capacity: …". */
export function fmtLive(live: DrillStatus['live']): string {
  if (!live) return 'no load observed yet';
  const share = live.requests ? live.failed / live.requests : 0;
  return `requests ${live.requests}, failed ${live.failed} (${formatShare(share)}), p99 ${formatMs(live.recentP99Ms)} (last 5 s); capacity: ${live.capacity}`;
}

/** A mark in words: "detected +0.7 s: MTTD 700 ms (target 3 s)". */
function markLine(label: string, field: keyof DrillMarks, s: DrillStatus, spec?: DrillSpec): string {
  const at = s.marks[field]!;
  const inj = s.marks.injectedAtUnixMs;
  const rel = isNum(inj) && field !== 'loadStartedAtUnixMs' && field !== 'injectedAtUnixMs' ? ` ${formatOffset(at, inj)}` : '';
  let what = '';
  if (field === 'detectedAtUnixMs' && isNum(inj)) what = `: MTTD ${formatMs(at - inj)}${spec ? ` (target ${formatMs(spec.expect.mttdTargetMs)})` : ''}`;
  if (field === 'recoveredAtUnixMs' && isNum(inj)) what = `: RTO ${formatMs(at - inj)}${spec ? ` (target ${formatMs(spec.expect.rtoTargetMs)})` : ''}`;
  if (field === 'injectedAtUnixMs' && s.blastRadius) what = `: ${s.blastRadius.fault} → ${s.blastRadius.instances.join(', ')}`;
  return `${hms(at)}  ${label}${rel}${what}`;
}

/**
 * The lines a follower prints for what changed between two statuses (pure, so the live view is
 * testable): the phase, the blast radius once known, each mark as it happens (MTTD and RTO with
 * their targets), each check, an abort asked for, and the verdict.
 */
export function drillEvents(prev: DrillStatus | undefined, s: DrillStatus, now: number, spec?: DrillSpec): string[] {
  const out: string[] = [];
  if (!prev?.blastRadius && s.blastRadius)
    out.push(`${hms(now)}  blast radius: ${fmtBlastRadius(s.blastRadius)}; reverts: ${s.blastRadius.reverts.join('; ')}`);
  for (const c of s.checks.slice(prev?.checks.length ?? 0)) out.push(`${hms(c.atUnixMs)}  check ${c.name}: ${c.ok ? 'ok' : 'FAILED'} (${c.detail})`);
  const marks = MARKS.filter((m) => isNum(s.marks[m.field]) && !isNum(prev?.marks[m.field]));
  // In the order they happened (a stable sort keeps the drill's order for marks at the same time).
  for (const m of marks.sort((a, b) => s.marks[a.field]! - s.marks[b.field]!)) out.push(markLine(m.label, m.field, s, spec));
  if (s.abortRequested && !prev?.abortRequested)
    out.push(`${hms(now)}  abort requested: ${s.abortRequested} (the fault is reverted, the drill ends as aborted)`);
  if (s.phase !== prev?.phase) {
    const live = s.live && (s.phase === 'observing' || s.phase === 'holding' || s.phase === 'reverting') ? `  | ${fmtLive(s.live)}` : '';
    out.push(`${hms(now)}  phase ${s.phase}${live}`);
  }
  if (s.outcome && !prev?.outcome)
    out.push(`${hms(now)}  ${s.outcome.toUpperCase()}${s.score !== undefined ? ` (score ${trim(s.score, 1)})` : ''}: ${s.reason ?? ''}`);
  return out;
}

/** Where the bars stand: the phase, and the fault's clock against the drill's time limit. */
export interface DrillProgress {
  phase: string;
  phaseIndex: number;
  phases: number;
  /** Since injection (0 before it), at most the limit. */
  elapsedMs: number;
  limitMs: number;
  live: string;
}

export function progressOf(s: DrillStatus, now: number, spec?: DrillSpec): DrillProgress {
  const inj = s.marks.injectedAtUnixMs;
  const limitMs = spec?.abort.timeLimitMs ?? 90_000;
  const end = s.marks.recoveredAtUnixMs ?? s.marks.revertedAtUnixMs;
  const elapsedMs = isNum(inj) ? Math.min(limitMs, Math.max(0, (isNum(end) ? end : now) - inj)) : 0;
  return {
    phase: `${s.phase}${s.abortRequested ? ' (abort requested)' : ''}`,
    phaseIndex: phaseIndex(s.phase),
    phases: PHASES.length - 1,
    elapsedMs,
    limitMs,
    live: fmtLive(s.live),
  };
}

interface View {
  /** A new status, and the lines of what changed since the last one (drillEvents). */
  update(s: DrillStatus, events: string[], now: number): void;
  note(text: string): void;
  stop(): void;
}

/** Non-TTY (CI, pipes): one line per event, and the live figures every `liveEveryMs` while they change. */
function plainView(out: NodeJS.WritableStream, liveEveryMs: number): View {
  let phase: DrillPhase | undefined;
  let lastLive = '';
  let lastLiveAt = 0;
  return {
    update(s, events, now) {
      for (const line of events) out.write(`${line}\n`);
      const live = s.live ? fmtLive(s.live) : '';
      if (live && live !== lastLive && now - lastLiveAt >= liveEveryMs && !s.outcome) {
        // A phase line just printed carries the live figures already.
        if (phase === s.phase) out.write(`${hms(now)}  live: ${live}\n`);
        lastLive = live;
        lastLiveAt = now;
      }
      phase = s.phase;
    },
    note: (text) => out.write(`${text}\n`),
    stop() {},
  };
}

/** TTY: two lines redrawn in place (the phase, the fault's clock against the time limit with the live figures); each event is logged above them. */
function ttyView(out: NodeJS.WritableStream, spec: DrillSpec | undefined): View {
  const bars = new MultiBar(
    { stream: out, hideCursor: true, clearOnComplete: false, autopadding: true, barsize: 24, fps: 5, gracefulExit: false, emptyOnZero: true },
    Presets.shades_classic,
  );
  const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;
  let phase: SingleBar | undefined;
  let clock: SingleBar | undefined;
  return {
    update(s, events, now) {
      const p = progressOf(s, now, spec);
      if (!phase) {
        phase = bars.create(p.phases, p.phaseIndex, { phase: p.phase }, { format: 'phase  {bar} {value}/{total}  {phase}' });
        clock = bars.create(p.limitMs, p.elapsedMs, { t: '', live: p.live }, { format: 'fault  {bar} {t}  {live}' });
      }
      for (const line of events) bars.log(`${line}\n`);
      phase.update(p.phaseIndex, { phase: p.phase });
      clock!.setTotal(p.limitMs);
      clock!.update(p.elapsedMs, { t: `${seconds(p.elapsedMs)}/${seconds(p.limitMs)} (time limit)`, live: p.live });
    },
    note: (text) => bars.log(`${text}\n`),
    stop: () => bars.stop(),
  };
}

// -- following a run ------------------------------------------------------------------------

/** The status query, bounded (see queryWithDeadline). */
const queryStatus = (h: WorkflowHandle, ms: number): Promise<DrillStatus> => queryWithDeadline(h, drillStatusQuery, ms);

/** A yes/no question on the terminal (Ctrl-C or end of input: no). */
export function askOnTerminal(question: string): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
    let answered = false;
    const done = (yes: boolean) => {
      if (answered) return;
      answered = true;
      rl.close();
      resolve(yes);
    };
    rl.on('SIGINT', () => done(false));
    rl.on('close', () => done(false));
    rl.question(question, (a) => done(/^\s*y(es)?\s*$/i.test(a)));
  });
}

export interface FollowOptions {
  /** Where the live view goes (default stderr). */
  out?: NodeJS.WritableStream;
  /** Default: whether `out` is a TTY. */
  tty?: boolean;
  pollMs?: number;
  /** The live figures' line in a non-TTY view at most this often (default 5 s). */
  liveEveryMs?: number;
  /** The spec the run resolves to (targets for MTTD/RTO, the time limit for the bar). */
  spec?: DrillSpec;
  /** Ctrl-C sends the abort signal (default); false: ask on a terminal, else stop following. */
  abortOnInterrupt?: boolean;
  /** Where SIGINT comes from (default the process; tests emit it). */
  signals?: NodeJS.EventEmitter;
  /** Asks whether to abort after a Ctrl-C with abortOnInterrupt false (default: on a terminal, askOnTerminal; elsewhere none). */
  ask?: (question: string) => Promise<boolean>;
  /** Where a report is written when the worker wrote none (the result is in hand). */
  reportDir?: string;
}

/**
 * Follow a run to its end: poll the status query (~1/s) into the live view, then the result, the
 * figures and the report's paths. Exit code 0 passed or dry run, 2 failed or aborted, 1 the
 * workflow failed (bad input, an error). Ctrl-C sends the abort signal (the drill reverts its fault
 * and ends as aborted) and goes on following; a second Ctrl-C stops following (130).
 */
export async function followDrill(h: WorkflowHandle, o: FollowOptions = {}): Promise<{ text: string; exitCode: number }> {
  const out = o.out ?? process.stderr;
  const tty = o.tty ?? Boolean((out as NodeJS.WriteStream).isTTY);
  const makeView = () => (tty ? ttyView(out, o.spec) : plainView(out, o.liveEveryMs ?? 5000));
  let view = makeView();
  const signals = o.signals ?? process;
  const abortOnInterrupt = o.abortOnInterrupt ?? true;
  const ask = o.ask ?? (tty && process.stdin.isTTY ? askOnTerminal : undefined);
  let finished = false;
  const done = h.result().then(
    (r: DrillResult) => ({ ok: true as const, r }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  void done.then(() => (finished = true));
  let last: DrillStatus | undefined;
  const t0 = Date.now();
  let hinted = false;
  let interrupts = 0;
  let handled = 0;
  let abortSent = false;
  let stopped = false;
  let wake: () => void = () => undefined;
  const onInterrupt = () => {
    interrupts++;
    wake();
  };
  const sendAbort = async () => {
    abortSent = true;
    await h.signal(drillAbortSignal, { by: 'ops', reason: 'interrupted (Ctrl-C)' }).then(
      () => view.note(`abort sent to ${h.workflowId}: it reverts its fault and ends as aborted; following it to the end (Ctrl-C again to stop following)`),
      (e: Error) => view.note(`could not send abort to ${h.workflowId}: ${e.message}`),
    );
  };
  signals.on('SIGINT', onInterrupt);
  try {
    for (;;) {
      // Ctrl-C: the first sends abort (or asks), the next stops following.
      while (handled < interrupts && !stopped && !finished) {
        handled++;
        if (abortSent) stopped = true;
        else if (abortOnInterrupt) await sendAbort();
        else if (ask) {
          view.stop();
          const yes = await ask(`\nabort ${h.workflowId}? Its fault is reverted and it ends as aborted. [y/N] `);
          view = makeView();
          if (yes) await sendAbort();
          else stopped = true;
        } else stopped = true;
      }
      if (stopped || finished) break;
      const s = await queryStatus(h, 5000).catch(() => undefined);
      if (s) {
        const now = Date.now();
        view.update(s, drillEvents(last, s, now, o.spec), now);
        last = s;
      } else if (!last && !hinted && Date.now() - t0 > 10_000) {
        hinted = true;
        view.note(`${h.workflowId} has not answered its status query yet: is the drill-worker running (and does it register ${DRILL_WORKFLOW})?`);
      }
      const woken = new Promise<void>((r) => (wake = r));
      await settlesWithin(Promise.race([done, woken]), o.pollMs ?? 1000);
    }
  } finally {
    signals.removeListener('SIGINT', onInterrupt);
    view.stop();
  }
  if (stopped) {
    const how = abortSent ? 'the abort was sent: it reverts its fault and ends as aborted' : 'the drill goes on';
    return { text: `stopped following ${h.workflowId}; ${how}: ops drill status ${h.workflowId}`, exitCode: EXIT_INTERRUPTED };
  }
  const r = await done;
  if (!r.ok) {
    const checks = last?.checks.length ? `${checksTable(last.checks)}\n\n` : '';
    return { text: `${checks}failed: ${describeFailure(r.e, h.workflowId)}`, exitCode: 1 };
  }
  const report = await reportOf(h, r.r, o.reportDir);
  return { text: `${renderResult(r.r)}${report ? `\n\n${report}` : ''}`, exitCode: OUTCOME_EXIT[r.r.outcome] ?? 1 };
}

/** The report of a closed run: the files the worker wrote (its memo names them), else written here from the result. */
async function reportOf(h: WorkflowHandle, r: DrillResult, reportDir?: string): Promise<string> {
  if (r.outcome === 'dry-run') return 'report: none for a dry run';
  const memo = await h.describe().then(
    (d) => d.memo,
    () => undefined,
  );
  const paths = reportPathsOf(memo?.['reportHtml']);
  if (paths) return `report (written by the drill-worker):\n${fmtReportPaths(paths)}`;
  if (!reportDir) return `report: the drill-worker wrote none; write it with ops drill report ${r.workflowId}`;
  const written = await writeDrillReport(reportDir, r);
  return `report (the drill-worker wrote none; written here from the result):\n${fmtReportPaths(written)}`;
}

// -- commands -------------------------------------------------------------------------------

async function describeOrUndefined(h: WorkflowHandle): Promise<WorkflowExecutionDescription | undefined> {
  try {
    return await h.describe();
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return undefined;
    throw e;
  }
}

export async function drillRun(
  client: Client,
  state: Pick<StackState, 'temporalTaskQueue' | 'temporalUiUrl' | 'temporalNamespace'>,
  built: { input: DrillInput; spec: DrillSpec },
  o: FollowOptions & { detach?: boolean; now?: number } = {},
): Promise<{ text: string; exitCode: number }> {
  const { input, spec } = built;
  const workflowId = ids.drill(input.scenario, o.now ?? Date.now());
  let h: WorkflowHandleWithFirstExecutionRunId<DrillWorkflow>;
  try {
    h = await client.workflow.start<DrillWorkflow>(DRILL_WORKFLOW, {
      taskQueue: state.temporalTaskQueue,
      workflowId,
      args: [input],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
    });
  } catch (e) {
    if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
    throw new Error(
      `refused: ${workflowId} is already running (a drill of ${input.scenario} was started this second): follow it with ops drill status ${workflowId}`,
    );
  }
  const runId = h.firstExecutionRunId;
  const url = runUrl(state, workflowId, runId);
  const started = fields([['workflow', workflowId], ['run', runId], ...(url ? ([['ui', url]] as Array<[string, string]>) : [])]);
  if (o.detach) return { text: `${started}\nfollow it: ops drill status ${workflowId}; abort it: ops drill abort ${workflowId}`, exitCode: 0 };
  const what = `${spec.dryRun ? 'dry run of' : 'drilling'} ${input.scenario}: ${fmtFault(spec.fault)} on ${fmtTarget(spec.target)}`;
  (o.out ?? process.stderr).write(`${what}\n${started}\n`);
  return followDrill(h, { ...o, spec: o.spec ?? spec });
}

/** `ops drill status <id>` of a running drill: where it stands, its marks and checks. */
export function renderStatus(s: DrillStatus, run?: { workflowId: string; runId: string; startTime?: Date }): string {
  const inj = s.marks.injectedAtUnixMs;
  const marks = MARKS.filter((m) => isNum(s.marks[m.field])).map(
    (m) => `${m.label} ${hms(s.marks[m.field]!)}${isNum(inj) && m.field !== 'loadStartedAtUnixMs' ? ` (${formatOffset(s.marks[m.field]!, inj)})` : ''}`,
  );
  return [
    fields([
      ...(run ? ([['drill', `${run.workflowId} (run ${run.runId})`]] as Array<[string, string]>) : []),
      ['scenario', `${s.scenario}: ${CATALOG[s.scenario]?.title ?? ''}`],
      ['phase', s.phase],
      ...(run?.startTime ? ([['running for', fmtAge(Date.now() - run.startTime.getTime())]] as Array<[string, string]>) : []),
      ['blast radius', s.blastRadius ? fmtBlastRadius(s.blastRadius) : 'not known yet (preflight)'],
      ['reverts', s.blastRadius?.reverts.join('; ') || '-'],
      ['marks', marks.join(', ') || '-'],
      ['MTTD', formatMs(s.live?.mttdMs)],
      ['live', fmtLive(s.live)],
      ...(s.abortRequested ? ([['abort', s.abortRequested]] as Array<[string, string]>) : []),
      ...(s.outcome ? ([['outcome', `${s.outcome}: ${s.reason ?? ''}`]] as Array<[string, string]>) : []),
    ]),
    '',
    checksTable(s.checks),
  ].join('\n');
}

/** `ops drill status <id>`: the live status of a running drill, else its result (or failure) and report. */
export async function drillStatusOf(client: Client, workflowId: string): Promise<string> {
  const h = client.workflow.getHandle<DrillWorkflow>(workflowId);
  const d = await describeOrUndefined(h);
  if (!d) throw new Error(`no drill ${workflowId} (recent ones: ops drill status; stored runs: ops drill history)`);
  if (d.status.name === 'RUNNING') {
    const s = await queryStatus(h, 5000).catch((e: Error) => {
      throw new Error(`${d.workflowId} is running but did not answer its status query (${e.message}): is the drill-worker up?`);
    });
    return renderStatus(s, d);
  }
  const head = fields([
    ['state', d.status.name.toLowerCase()],
    ['started', d.startTime.toISOString()],
    ['closed', d.closeTime ? `${d.closeTime.toISOString()} (${fmtAge(d.closeTime.getTime() - d.startTime.getTime())})` : '-'],
  ]);
  const r = await h.result().then(
    (x) => ({ ok: true as const, x }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  if (!r.ok) return `${head}\n\nfailed: ${describeFailure(r.e, d.workflowId)}`;
  const paths = reportPathsOf(d.memo?.['reportHtml']);
  return `${head}\n\n${renderResult(r.x)}${paths ? `\n\nreport:\n${fmtReportPaths(paths)}` : ''}`;
}

/** `ops drill status`: recent drills from Temporal visibility, newest first. */
export async function drillList(client: Client, limit: number): Promise<string> {
  const rows: string[][] = [];
  for await (const w of client.workflow.list({ query: `Operation = 'drill'` })) {
    const sa = w.typedSearchAttributes;
    const end = w.closeTime?.getTime();
    rows.push([
      w.workflowId,
      sa.get(SA.DrillScenario) ?? '-',
      sa.get(SA.DrillOutcome) ?? (w.status.name === 'RUNNING' ? 'running' : '-'),
      w.status.name.toLowerCase(),
      fmtTime(w.startTime.getTime()),
      end ? fmtAge(end - w.startTime.getTime()) : `${fmtAge(Date.now() - w.startTime.getTime())} so far`,
      typeof w.memo?.summary === 'string' ? w.memo.summary : '-',
    ]);
    if (rows.length >= limit) break;
  }
  if (!rows.length) return 'no drills recorded (the catalog: ops drill list; start one: ops drill run <scenario>)';
  return table(['DRILL', 'SCENARIO', 'OUTCOME', 'STATUS', 'STARTED', 'TOOK', 'SUMMARY'], rows);
}

/** Why an abort makes no sense now, or undefined when it may be sent. */
export function abortRefusal(workflowId: string, executionStatus: string | undefined, s?: DrillStatus): string | undefined {
  if (!executionStatus) return `no drill ${workflowId}: nothing to abort`;
  if (executionStatus !== 'RUNNING') return `${workflowId} is not running (its latest run is ${executionStatus.toLowerCase()}): nothing to abort`;
  if (!s) return undefined;
  if (s.outcome || s.phase === 'done' || s.phase === 'measuring')
    return `${workflowId} has ended${s.outcome ? ` (${s.outcome})` : ''} and is writing its figures: nothing to abort`;
  if (s.phase === 'after') return `${workflowId} has reverted its fault and is checking the steady state after: nothing to abort`;
  if (s.abortRequested) return `${workflowId} was already asked to abort (${s.abortRequested}): it is reverting`;
  return undefined;
}

/** `ops drill abort <id>`: the abort signal, after checking it makes sense; then what it led to. */
export async function drillAbort(client: Client, workflowId: string, reason?: string, waitMs = 5000): Promise<string> {
  const h = client.workflow.getHandle<DrillWorkflow>(workflowId);
  const d = await describeOrUndefined(h);
  const before =
    d?.status.name === 'RUNNING'
      ? await queryStatus(h, 5000).catch((e: Error) => {
          throw new Error(`${workflowId} did not answer its status query (${e.message}); nothing sent`);
        })
      : undefined;
  const refusal = abortRefusal(workflowId, d?.status.name, before);
  if (refusal) throw new Error(`refused: ${refusal}`);
  await h.signal(drillAbortSignal, { by: 'ops', ...(reason ? { reason } : {}) });
  const until = Date.now() + waitMs;
  let after: DrillStatus | undefined;
  while (Date.now() < until) {
    await sleep(200);
    after = await queryStatus(h, 2000).catch(() => after);
    if (after && (after.phase !== before!.phase || after.outcome)) break;
  }
  if (!after) return `abort sent to ${workflowId}; no status since (ops drill status ${workflowId})`;
  const moved = after.phase !== before!.phase ? `${before!.phase} -> ${after.phase}` : `still ${after.phase}`;
  return `abort sent to ${workflowId} (${after.abortRequested ?? 'aborted by ops'}): ${moved}; it reverts its fault and ends as aborted (follow it: ops drill status ${workflowId})`;
}

/** Is this a DrillResult as the workflow stores it (drill_runs.result)? */
function isResult(x: unknown): x is DrillResult {
  const r = x as Partial<DrillResult> | undefined;
  return !!r && typeof r.workflowId === 'string' && typeof r.outcome === 'string' && !!r.spec && !!r.figures && !!r.marks;
}

/** `ops drill report <id>`: the stored run's result document, rendered again (JSON, HTML, Markdown) into `outDir`. */
export async function drillReportFrom(run: StoredDrillRun | undefined, workflowId: string, outDir: string): Promise<DrillReportPaths> {
  if (!run) throw new Error(`no drill run ${workflowId} in Postgres (stored runs: ops drill history)`);
  if (!isResult(run.result))
    throw new Error(
      run.outcome === 'running'
        ? `${workflowId} has not finished (outcome running): no result to report yet (follow it: ops drill status ${workflowId})`
        : `${workflowId} (${run.outcome}) has no result document to report`,
    );
  return writeDrillReport(outDir, run.result);
}

const fmtDelta = (d: number | null) => (d === null ? '-' : `${d > 0 ? '+' : ''}${trim(d, 1)}`);
const fmtScore = (n: number | null | undefined) => (n === null || n === undefined ? '-' : trim(n, 1));

/** Each scenario's score trend over the runs given (dry runs and unscored runs left out). */
export function trends(runs: ReadonlyArray<Pick<StoredDrillRun, 'scenario' | 'startedAt' | 'score' | 'dryRun' | 'outcome'>>): Map<string, ScoreTrend> {
  const by = new Map<string, Array<{ atUnixMs: number; value: number }>>();
  for (const r of runs) {
    if (r.dryRun || r.outcome === 'dry-run' || r.outcome === 'running' || !isNum(r.score)) continue;
    by.set(r.scenario, [...(by.get(r.scenario) ?? []), { atUnixMs: r.startedAt.getTime(), value: r.score }]);
  }
  return new Map([...by.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([s, xs]) => [s, scoreTrend(xs)]));
}

/** `ops drill history`: stored runs, newest first, then each scenario's score trend. */
export function historyTables(runs: StoredDrillRun[]): string {
  if (!runs.length) return 'no drill runs stored (start one: ops drill run <scenario>)';
  const failed = (r: StoredDrillRun) => (isNum(r.failed) && isNum(r.requests) ? countShare(r.failed, r.requests ? r.failed / r.requests : 0) : '-');
  const runsTable = table(
    ['STARTED', 'SCENARIO', 'TARGET', 'OUTCOME', 'MTTD', 'RTO', 'FAILED', 'SCORE', 'DRILL'],
    runs.map((r) => [
      r.startedAt.toISOString().slice(0, 19) + 'Z',
      r.scenario,
      r.target || '-',
      r.outcome,
      formatMs(r.mttdMs),
      formatMs(r.rtoMs),
      failed(r),
      r.dryRun || r.outcome === 'dry-run' ? '-' : fmtScore(r.score),
      r.workflowId,
    ]),
  );
  const t = trends(runs);
  if (!t.size) return `${runsTable}\n\nno scored run to trend (dry runs and running drills are not scored)`;
  const trendTable = table(
    ['SCENARIO', 'RUNS', 'LAST', 'MEAN', 'BEST', 'WORST', 'DELTA'],
    [...t.entries()].map(([s, x]) => [s, String(x.runs), fmtScore(x.last), fmtScore(x.mean), fmtScore(x.best), fmtScore(x.worst), fmtDelta(x.delta)]),
  );
  return `${runsTable}\n\nscore trend over the runs above (delta: the last run against the mean of the up to 5 before it):\n${trendTable}`;
}

export interface ScheduleOptions extends InputOptions {
  every?: number;
  pause?: boolean;
  resume?: boolean;
  delete?: boolean;
}

/** The refusals of contradicting schedule options (InvalidArgumentError, like a bad option value). */
export function checkScheduleOptions(o: ScheduleOptions): void {
  const states = [o.pause && '--pause', o.resume && '--resume', o.delete && '--delete'].filter(Boolean);
  if (states.length > 1) throw new InvalidArgumentError(`${states.join(' and ')} contradict each other`);
  if (o.delete && (o.every !== undefined || o.set?.length || o.dryRun)) throw new InvalidArgumentError('--delete takes no --every, --set or --dry-run');
}

export function renderSchedule(s: DrillScheduleState): string {
  return fields([
    ['schedule', `${s.scheduleId}${s.created ? ' (created)' : ''}`],
    ['every', fmtAge(s.intervalMs)],
    ['state', s.paused ? 'paused' : 'active'],
    ['input', s.input ? JSON.stringify(s.input) : '-'],
    ['runs as', `${drillScheduleId(s.scenario)}-<scheduled time> on ${DRILL_WORKFLOW} (overlap: skip)`],
    [
      'next runs',
      s.nextActionTimes
        .slice(0, 3)
        .map((t) => t.toISOString())
        .join(', ') || '-',
    ],
    [
      'recent runs',
      s.recentActions
        .slice(-5)
        .map((a) => `${a.workflowId} at ${a.takenAt.toISOString()}`)
        .join('\n') || '-',
    ],
  ]);
}

/**
 * `ops drill schedule <scenario>`: show the recurring drill, or create it (needs --every), or change
 * its interval, input, or state (--pause, --resume), or delete it. The input is checked as for
 * `ops drill run`; an update without --set or --dry-run keeps the schedule's input.
 */
export async function drillSchedule(client: Client, state: Pick<StackState, 'temporalTaskQueue'>, scenario: string, o: ScheduleOptions): Promise<string> {
  checkScheduleOptions(o);
  parseScenario(scenario);
  if (o.delete) {
    const gone = await deleteDrillSchedule(client, scenario);
    if (!gone) throw new Error(`no schedule ${drillScheduleId(scenario)}: nothing to delete`);
    return `deleted ${drillScheduleId(scenario)} (runs it started are left as they are)`;
  }
  const newInput = o.set?.length || o.dryRun ? drillInput(scenario, o).input : undefined;
  const existing = await describeDrillSchedule(client, scenario);
  const asked = o.every !== undefined || newInput || o.pause || o.resume;
  if (!asked) {
    if (!existing) throw new Error(`no schedule ${drillScheduleId(scenario)}: create it with ops drill schedule ${scenario} --every 24h`);
    return renderSchedule(existing);
  }
  if (!existing && o.every === undefined) throw new Error(`no schedule ${drillScheduleId(scenario)} yet: --every is needed to create it (e.g. --every 24h)`);
  const input = newInput ?? existing?.input ?? drillInput(scenario).input;
  const s = await ensureDrillSchedule(client, {
    taskQueue: state.temporalTaskQueue,
    input,
    intervalMs: o.every ?? existing!.intervalMs,
    paused: o.pause ? true : o.resume ? false : undefined,
    note: 'paused by ops drill schedule --pause',
  });
  return renderSchedule(s);
}

// -- wiring ---------------------------------------------------------------------------------

async function withPool<T>(cfg: StackEnv, fn: (pool: ReturnType<typeof createPool>) => Promise<T>): Promise<T> {
  const pool = createPool(expectedTopology(cfg).databaseUrl, { max: 1 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

const SET_HELP = 'override a field of the scenario\'s spec, e.g. fault.latencyMs=500, target.instances=["ranking-service-1"], load.ratePerSec=20 (repeatable)';

export function addDrillCommands(program: Command, loadEnv: LoadEnv): void {
  const drill = program
    .command('drill')
    .description('chaos drills (the DrillWorkflow): the catalog, run and follow, status, abort, reports, history with score trends, schedules');
  drill
    .command('list')
    .description('the scenario catalog: what each rehearses, its target, fault and MTTD / RTO targets')
    .action(run(async () => catalogTable()));
  drill
    .command('run <scenario>')
    .description('start drill-<scenario>-<time> and follow it live; exit 0 passed or dry run, 2 failed or aborted, 1 error')
    .option('--set <key=value>', SET_HELP, collect)
    .option('--dry-run', 'preflight only: the blast radius and what would be reverted; nothing injected')
    .option('--detach', 'return once started: print the workflow id, run id and its Temporal UI page')
    .option('--no-abort-on-interrupt', 'Ctrl-C asks whether to abort (on a terminal) instead of sending abort at once')
    .action(
      runWithExitCode(async (scenario: string, o: InputOptions & { detach?: boolean; abortOnInterrupt?: boolean }) => {
        const built = drillInput(scenario, o);
        const cfg = loadEnv();
        const state = expectedTopology(cfg);
        return withTemporal(state, (client) =>
          drillRun(client, state, built, { detach: o.detach, abortOnInterrupt: o.abortOnInterrupt, reportDir: defaultReportDir(cfg) }),
        );
      }),
    );
  drill
    .command('status [workflowId]')
    .description('a drill (live phase, blast radius, marks, checks; or the result of a closed one); without an id, recent drills')
    .option('-n, --limit <n>', 'how many recent drills', int('--limit', 1, 1000), 20)
    .action(
      run((workflowId: string | undefined, o: { limit: number }) => {
        const state = expectedTopology(loadEnv());
        return withTemporal(state, (client) => (workflowId ? drillStatusOf(client, workflowId) : drillList(client, o.limit)));
      }),
    );
  drill
    .command('abort <workflowId>')
    .description('stop a running drill now: its fault is reverted and it ends as aborted (refused when it makes no sense)')
    .option('--reason <text>', 'why (in the result and the operations log)')
    .action(
      run((workflowId: string, o: { reason?: string }) => {
        const state = expectedTopology(loadEnv());
        return withTemporal(state, (client) => drillAbort(client, workflowId, o.reason));
      }),
    );
  drill
    .command('report <workflowId>')
    .description('write the report (JSON, HTML, Markdown) of a stored run again, from its result in Postgres')
    .option('--out <dir>', 'where to write it (default <data dir>/drills, e.g. .data/drills)')
    .action(
      run(async (workflowId: string, o: { out?: string }) => {
        const cfg = loadEnv();
        const paths = await withPool(cfg, async (pool) => drillReportFrom(await getDrillRun(pool, workflowId), workflowId, o.out ?? defaultReportDir(cfg)));
        return `report of ${workflowId}:\n${fmtReportPaths(paths)}`;
      }),
    );
  drill
    .command('history')
    .description("stored drill runs, newest first, and each scenario's score trend (runs, last, mean, best, worst, delta)")
    .option('--scenario <name>', 'only this scenario', parseScenario)
    .option('-n, --limit <n>', 'how many runs', int('--limit', 1, 1000), 20)
    .action(
      run((o: { scenario?: string; limit: number }) =>
        withPool(loadEnv(), async (pool) => historyTables(await listDrillRuns(pool, { scenario: o.scenario, limit: o.limit }))),
      ),
    );
  drill
    .command('schedule <scenario>')
    .description(
      `a recurring drill: the Temporal Schedule drill-<scenario> starting ${DRILL_WORKFLOW} every interval (overlap skip); show, create, change, pause, resume, delete`,
    )
    .option('--every <duration>', 'how often, e.g. 24h, 7d, 90m (between 1 min and 366 days)', duration('--every', 60_000, 366 * 86_400_000))
    .option('--set <key=value>', SET_HELP, collect)
    .option('--dry-run', 'every run is a dry run (preflight only)')
    .option('--pause', 'stop starting drills (the schedule is kept)')
    .option('--resume', 'start them again')
    .option('--delete', 'delete the schedule')
    .action(
      run((scenario: string, o: ScheduleOptions) => {
        const state = expectedTopology(loadEnv());
        return withTemporal(state, (client) => drillSchedule(client, state, scenario, o));
      }),
    );
}
