// `ops drill …` against a stand-in DrillWorkflow (testing/fake-drill-workflow.ts: same type name,
// input, query, signal, search attributes and memo) on the real Temporal dev server (the one
// `npm test` starts, else a new one; the time-skipping server has no Schedules): run followed to
// the end (passed: exit 0; failed: exit 2, its report written from the result), a dry run (exit 0),
// an input the workflow refuses (exit 1), abort (the command and Ctrl-C while following: exit 2),
// status, the recurring drill's Schedule; and report / history over drill runs in a scratch Postgres.
// The real workflow's tests live with it (libs/workflows/src/drill/workflow.spec.ts).
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { drillRunRecord } from '@ranksafe/activities';
import { createPool, getDrillRun, listDrillRuns, migrateUp, upsertDrillRun } from '@ranksafe/db';
import { drillScheduleId, workflowBundlerOptions } from '@ranksafe/platform';
import { eventually, scratchDatabase, temporalDevEnv } from '@ranksafe/testing';
import { drillStatusQuery, SEARCH_ATTRIBUTE_TYPES, type DrillResult } from '@ranksafe/workflows';
import type { Pool } from 'pg';
import { drillAbort, drillInput, drillList, drillReportFrom, drillRun, drillSchedule, drillStatusOf, followDrill, historyTables } from './drill';
import { FAKE_REPORT_DIR } from './testing/fake-drill-workflow';

const TQ = `test-ops-drill-${randomUUID().slice(0, 8)}`;
const state = { temporalTaskQueue: TQ, temporalNamespace: 'default', temporalUiUrl: 'http://ui.test' };

function collect() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString()));
  return { out, text: () => text };
}

/** A distinct start time per run, so two drills of one scenario never share an id (ids.drill is to the second). */
let clock = Date.now();
const nextNow = () => (clock += 1000);

/** The dev server `npm test` starts has ranksafe's search attributes; a server started here gets them now. */
async function devEnv(): Promise<TestWorkflowEnvironment> {
  const env = await temporalDevEnv();
  if (!process.env.TEMPORAL_ADDRESS) {
    const { temporal } = await import('@temporalio/proto');
    await env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(
        Object.keys(SEARCH_ATTRIBUTE_TYPES).map((k) => [k, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
      ),
    });
  }
  return env;
}

describe('ops drill (stand-in workflow, Temporal dev server)', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  let tmp: string;
  beforeAll(async () => {
    env = await devEnv();
    worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: TQ,
      workflowsPath: require.resolve('./testing/fake-drill-workflow'),
      bundlerOptions: workflowBundlerOptions(),
    });
    running = worker.run();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-drill-'));
  }, 180_000);
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const observing = (workflowId: string) =>
    eventually(
      async () =>
        (
          await env.client.workflow
            .getHandle(workflowId)
            .query(drillStatusQuery)
            .catch(() => undefined)
        )?.phase === 'observing',
      20_000,
    );

  it('runs a drill followed to the end: live lines, the result table, the report from the memo; passed is exit 0', async () => {
    const live = collect();
    const r = await drillRun(env.client, state, drillInput('ranking-replica-kill'), { out: live.out, tty: false, pollMs: 100, reportDir: tmp, now: nextNow() });
    expect(r.exitCode).toBe(0);
    const workflowId = /^drill\s+(drill-ranking-replica-kill-\d{8}T\d{6}Z) \(run (\S+)\)$/m.exec(r.text)!;
    expect(workflowId).not.toBeNull();
    expect(r.text).toMatch(/^outcome\s+PASSED$/m);
    expect(r.text).toMatch(/^MTTD\s+300 ms\s+≤ 3 s$/m);
    expect(r.text).toMatch(/^RTO\s+[12](\.\d)? s\s+≤ 15 s$/m); // 1.5 s on the fake's clock, looked at every 200 ms
    expect(r.text).toMatch(/^score\s+\d+(\.\d)? \/ 100/m);
    expect(r.text).toContain(
      `report (written by the drill-worker):\nhtml      ${FAKE_REPORT_DIR}/${workflowId[1]}.html\nmarkdown  ${FAKE_REPORT_DIR}/${workflowId[1]}.md`,
    );
    const text = live.text();
    expect(text).toMatch(/^drilling ranking-replica-kill: SIGKILL on ranking-service, one replica$/m);
    expect(text).toContain(`http://ui.test/namespaces/default/workflows/${workflowId[1]}/${workflowId[2]}/history`);
    expect(text).toMatch(/ {2}blast radius: ranking-service-2 of 2 ranking-service replica\(s\) \(50% of capacity\), fault SIGKILL; reverts: /);
    expect(text).toMatch(/ {2}injected: SIGKILL → ranking-service-2$/m);
    expect(text).toMatch(/ {2}detected \+0\.3 s: MTTD 300 ms \(target 3 s\)$/m);
    expect(text).toMatch(/ {2}recovered \(steady state\) \+[12](\.\d)? s: RTO [12](\.\d)? s \(target 15 s\)$/m);
    expect(text).toMatch(/ {2}phase observing {2}\| requests \d+, failed 0 \(0%\), p99 42 ms \(last 5 s\); capacity: /);
    expect(text).toMatch(/ {2}check steady state before: ok/);

    // Found by its search attributes, as the README's filter says; and its status once closed.
    await eventually(async () => {
      for await (const w of env.client.workflow.list({
        query: `DrillScenario = 'ranking-replica-kill' AND DrillOutcome = 'passed' AND WorkflowId = '${workflowId[1]}'`,
      }))
        return w.workflowId === workflowId[1];
      return false;
    }, 20_000);
    expect(await drillStatusOf(env.client, workflowId[1]!)).toMatch(/^state\s+completed[\s\S]*^outcome\s+PASSED[\s\S]*^report:\nhtml/m);
    expect(await drillList(env.client, 100)).toMatch(new RegExp(`^${workflowId[1]}\\s+ranking-replica-kill\\s+passed\\s+completed`, 'm'));
  }, 60_000);

  it('fails when the tier is not back within the time limit (exit 2); the worker wrote no report, so it is written here from the result', async () => {
    const built = drillInput('retrieval-replica-kill', { set: ['abort.timeLimitMs=1000', 'timing.holdMs=5000'] });
    const r = await drillRun(env.client, state, built, { out: collect().out, tty: false, pollMs: 100, reportDir: tmp, now: nextNow() });
    expect(r.exitCode).toBe(2);
    expect(r.text).toMatch(/^outcome\s+FAILED$/m);
    expect(r.text).toMatch(/^reason\s+not back to steady state within the time limit \(1000 ms\)/m);
    expect(r.text).toMatch(/^score\s+0 \/ 100\s+points lost on: outcome 0$/m);
    const html = /^html\s+(\S+)$/m.exec(r.text)![1]!;
    expect(r.text).toContain('report (the drill-worker wrote none; written here from the result):');
    expect(path.dirname(html)).toBe(tmp);
    for (const ext of ['html', 'md', 'json']) expect(fs.existsSync(html.replace(/\.html$/, `.${ext}`))).toBe(true);
    expect((JSON.parse(fs.readFileSync(html.replace(/\.html$/, '.json'), 'utf8')) as DrillResult).outcome).toBe('failed');
  }, 60_000);

  it('dry run: the blast radius and what would be reverted, nothing injected, exit 0', async () => {
    const live = collect();
    const r = await drillRun(env.client, state, drillInput('ranking-tier-lost', { dryRun: true }), { out: live.out, tty: false, pollMs: 100, now: nextNow() });
    expect(r.exitCode).toBe(0);
    expect(r.text).toMatch(/^outcome\s+DRY-RUN$/m);
    expect(r.text).toMatch(/^blast radius\s+ranking-service-1, ranking-service-2 of 2 ranking-service replica\(s\) \(100% of capacity\), fault SIGKILL$/m);
    expect(r.text).toMatch(/^would revert\s+start ranking-service-2 again/m);
    expect(r.text).toMatch(/report: none for a dry run$/);
    expect(live.text()).toMatch(/^dry run of ranking-tier-lost: SIGKILL on ranking-service, every replica$/m);
    expect(live.text()).not.toMatch(/ {2}injected:/);
  }, 60_000);

  it('an input the workflow refuses is exit 1, every problem listed', async () => {
    const built = drillInput('ranking-replica-kill');
    const r = await drillRun(
      env.client,
      state,
      { ...built, input: { ...built.input, load: { ratePerSec: 0 } } },
      { out: collect().out, tty: false, pollMs: 100, now: nextNow() },
    );
    expect(r.exitCode).toBe(1);
    expect(r.text).toMatch(/^failed: drill-ranking-replica-kill-\S+ refused its input \(nothing was changed\):\n {2}- load\.ratePerSec: /);
  }, 60_000);

  it('abort: sent to a running drill, which reverts and ends as aborted (exit 2); refused once it is not running; a second start in the same second is refused', async () => {
    const now = nextNow();
    const built = drillInput('ranking-replica-latency', { set: ['timing.holdMs=600000'] });
    const started = await drillRun(env.client, state, built, { detach: true, now });
    expect(started.exitCode).toBe(0);
    const workflowId = /^workflow\s+(\S+)$/m.exec(started.text)![1]!;
    expect(started.text).toMatch(/^ui\s+http:\/\/ui\.test\/namespaces\/default\/workflows\/drill-ranking-replica-latency-/m);
    expect(started.text).toMatch(/follow it: ops drill status drill-ranking-replica-latency-\S+; abort it: ops drill abort /);
    await expect(drillRun(env.client, state, built, { detach: true, now })).rejects.toThrow(`refused: ${workflowId} is already running`);
    await observing(workflowId);
    expect(await drillStatusOf(env.client, workflowId)).toMatch(/^phase\s+observing$[\s\S]*^marks\s+load started .*, injected .*, injection proven/m);

    expect(await drillAbort(env.client, workflowId, 'game day over')).toMatch(
      new RegExp(`^abort sent to ${workflowId} \\(aborted by ops: game day over\\): observing -> (reverting|measuring|done)`),
    );
    const r = await followDrill(env.client.workflow.getHandle(workflowId), { out: collect().out, tty: false, pollMs: 100, reportDir: tmp });
    expect(r.exitCode).toBe(2);
    expect(r.text).toMatch(/^outcome\s+ABORTED$/m);
    expect(r.text).toMatch(/^reason\s+aborted by ops: game day over$/m);
    await expect(drillAbort(env.client, workflowId)).rejects.toThrow(`refused: ${workflowId} is not running (its latest run is completed): nothing to abort`);
    await expect(drillAbort(env.client, 'drill-none')).rejects.toThrow('refused: no drill drill-none: nothing to abort');
    await expect(drillStatusOf(env.client, 'drill-none')).rejects.toThrow('no drill drill-none');
  }, 60_000);

  it('Ctrl-C while following sends abort and follows the drill to its end (exit 2); without abort-on-interrupt it asks, and "no" stops following (130)', async () => {
    const signals = new EventEmitter();
    const live = collect();
    const built = drillInput('ranking-replica-kill', { set: ['timing.holdMs=600000'] });
    const following = drillRun(env.client, state, built, { out: live.out, tty: false, pollMs: 100, signals, reportDir: tmp, now: nextNow() });
    await eventually(() => / {2}phase observing/.test(live.text()), 20_000);
    signals.emit('SIGINT');
    const r = await following;
    expect(r.exitCode).toBe(2);
    expect(r.text).toMatch(/^reason\s+aborted by ops: interrupted \(Ctrl-C\)$/m);
    expect(live.text()).toMatch(/abort sent to drill-ranking-replica-kill-\S+: it reverts its fault and ends as aborted; following it to the end/);
    expect(live.text()).toMatch(/ {2}abort requested: aborted by ops: interrupted \(Ctrl-C\)/);

    const asked: string[] = [];
    const second = collect();
    const again = drillRun(env.client, state, built, {
      out: second.out,
      tty: false,
      pollMs: 100,
      signals,
      abortOnInterrupt: false,
      ask: async (q) => (asked.push(q), false),
      now: nextNow(),
    });
    await eventually(() => / {2}phase observing/.test(second.text()), 20_000);
    signals.emit('SIGINT');
    const stopped = await again;
    expect(stopped.exitCode).toBe(130);
    expect(asked[0]).toMatch(/abort drill-ranking-replica-kill-\S+\? Its fault is reverted and it ends as aborted\. \[y\/N\]/);
    const workflowId = /^stopped following (\S+); the drill goes on: ops drill status \1$/.exec(stopped.text)![1]!;
    expect(await drillAbort(env.client, workflowId)).toMatch(/^abort sent to /);
    expect(signals.listenerCount('SIGINT')).toBe(0);
  }, 60_000);

  it('schedule: created with --every, shown, its input and interval changed, paused and resumed, its runs named drill-<scenario>-<time>, deleted', async () => {
    const scenario = 'retrieval-replica-kill';
    await drillSchedule(env.client, state, scenario, { delete: true }).catch(() => undefined);
    await expect(drillSchedule(env.client, state, scenario, {})).rejects.toThrow(
      `no schedule drill-${scenario}: create it with ops drill schedule ${scenario} --every 24h`,
    );
    await expect(drillSchedule(env.client, state, scenario, { pause: true })).rejects.toThrow('--every is needed to create it');
    await expect(drillSchedule(env.client, state, scenario, { every: 3_600_000, set: ['load.ratePerSec=0'] })).rejects.toThrow(
      /invalid drill input .*load\.ratePerSec/,
    );

    const created = await drillSchedule(env.client, state, scenario, { every: 86_400_000, dryRun: true });
    expect(created).toMatch(new RegExp(`^schedule\\s+drill-${scenario} \\(created\\)$`, 'm'));
    expect(created).toMatch(/^every\s+1d 0h$/m);
    expect(created).toMatch(/^state\s+active$/m);
    expect(created).toMatch(new RegExp(`^input\\s+\\{"scenario":"${scenario}","dryRun":true\\}$`, 'm'));
    expect(await drillSchedule(env.client, state, scenario, {})).toMatch(/^schedule\s+drill-retrieval-replica-kill$/m);

    // Only the interval: the input is kept. Only --pause: interval and input kept.
    expect(await drillSchedule(env.client, state, scenario, { every: 7 * 86_400_000 })).toMatch(/^every\s+7d 0h$[\s\S]*"dryRun":true/m);
    const paused = await drillSchedule(env.client, state, scenario, { pause: true });
    expect(paused).toMatch(/^every\s+7d 0h$[\s\S]*^state\s+paused$[\s\S]*"dryRun":true/m);
    expect(await drillSchedule(env.client, state, scenario, { set: ['load.ratePerSec=5'], dryRun: true })).toMatch(
      /^state\s+paused$[\s\S]*^input\s+\{"scenario":"retrieval-replica-kill","load":\{"ratePerSec":5\},"dryRun":true\}$/m,
    );
    expect(await drillSchedule(env.client, state, scenario, { resume: true })).toMatch(/^state\s+active$/m);

    // A run now: the schedule's workflow id is a prefix, Temporal appends the time.
    await env.client.schedule.getHandle(drillScheduleId(scenario)).trigger();
    let runId = '';
    await eventually(async () => {
      const d = await env.client.schedule.getHandle(drillScheduleId(scenario)).describe();
      runId = d.info.recentActions[0]?.action.workflow.workflowId ?? '';
      return !!runId;
    }, 20_000);
    expect(runId).toMatch(new RegExp(`^drill-${scenario}-\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`));
    const r = (await env.client.workflow.getHandle(runId).result()) as DrillResult;
    expect(r).toMatchObject({ outcome: 'dry-run', scenario, spec: { dryRun: true, load: { ratePerSec: 5 } } });
    expect(await drillSchedule(env.client, state, scenario, {})).toMatch(new RegExp(`^recent runs\\s+${runId} at `, 'm'));

    expect(await drillSchedule(env.client, state, scenario, { delete: true })).toBe(`deleted drill-${scenario} (runs it started are left as they are)`);
    await expect(drillSchedule(env.client, state, scenario, { delete: true })).rejects.toThrow(`no schedule drill-${scenario}: nothing to delete`);
  }, 90_000);
});

describe('ops drill report | history (drill runs in a scratch Postgres)', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let pool: Pool;
  let tmp: string;
  beforeAll(async () => {
    db = await scratchDatabase('rs_opsdrill');
    await migrateUp(db.url);
    pool = createPool(db.url);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ops-drill-report-'));
  }, 120_000);
  afterAll(async () => {
    await pool?.end();
    await db?.drop().catch(() => undefined);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const T0 = Date.UTC(2026, 11, 2, 7, 0, 0);
  const stored = (workflowId: string, at: number, outcome: DrillResult['outcome'], score: number): DrillResult => {
    const { spec } = drillInput('ranking-replica-kill', outcome === 'dry-run' ? { dryRun: true } : {});
    const phase = { requests: 50, ok: 50, failed: 0, degraded: 0, p50Ms: 12, p99Ms: 40 };
    return {
      ...{
        workflowId,
        runId: `r-${workflowId}`,
        scenario: 'ranking-replica-kill',
        title: 'Ranking replica SIGKILL',
        outcome,
        reason: `${outcome} for the test`,
        spec,
      },
      blastRadius: { tier: 'ranking-service', instances: ['ranking-service-2'], replicas: 2, capacityShare: 0.5, fault: 'SIGKILL', reverts: [] },
      marks: { startedAtUnixMs: at, injectedAtUnixMs: at + 6000, detectedAtUnixMs: at + 6700, recoveredAtUnixMs: at + 14_000, endedAtUnixMs: at + 20_000 },
      figures: {
        mttdMs: 700,
        rtoMs: 8000,
        requests: 200,
        failed: 1,
        failedShare: 0.005,
        degraded: 0,
        degradedShare: 0,
        byStatus: {},
        before: phase,
        during: phase,
        after: phase,
      },
      ...{ checks: [], steps: [], series: [], score: { value: score, parts: [] } },
    };
  };

  it('writes the report of a stored run again, anywhere; refuses one that has not finished or does not exist', async () => {
    await upsertDrillRun(pool, drillRunRecord(stored('drill-a', T0, 'passed', 82.5)));
    const out = path.join(tmp, 'elsewhere');
    const paths = await drillReportFrom(await getDrillRun(pool, 'drill-a'), 'drill-a', out);
    expect(paths).toEqual({ json: path.join(out, 'drill-a.json'), html: path.join(out, 'drill-a.html'), md: path.join(out, 'drill-a.md') });
    expect(fs.readFileSync(paths.md, 'utf8')).toMatch(/^## Drill Ranking replica SIGKILL: passed, score 82\.5 \/ 100/);
    expect(fs.readFileSync(paths.html, 'utf8')).toMatch(/^<!doctype html>/i);

    await upsertDrillRun(pool, {
      workflowId: 'drill-b',
      runId: 'r',
      scenario: 'ranking-replica-kill',
      target: 'ranking-service-2',
      dryRun: false,
      outcome: 'running',
      startedAtUnixMs: T0 + 1,
    });
    await expect(drillReportFrom(await getDrillRun(pool, 'drill-b'), 'drill-b', out)).rejects.toThrow(
      'drill-b has not finished (outcome running): no result to report yet',
    );
    await expect(drillReportFrom(await getDrillRun(pool, 'drill-none'), 'drill-none', out)).rejects.toThrow('no drill run drill-none in Postgres');
  });

  it("lists the runs newest first with each scenario's score trend", async () => {
    await upsertDrillRun(pool, drillRunRecord(stored('drill-c', T0 + 60_000, 'failed', 0)));
    await upsertDrillRun(pool, drillRunRecord(stored('drill-d', T0 + 120_000, 'passed', 90)));
    await upsertDrillRun(pool, drillRunRecord(stored('drill-e', T0 + 180_000, 'dry-run', 0)));
    const text = historyTables(await listDrillRuns(pool, { scenario: 'ranking-replica-kill', limit: 20 }));
    const lines = text.split('\n');
    expect(lines.slice(2, 7).map((l) => l.split(/\s+/).at(-1))).toEqual(['drill-e', 'drill-d', 'drill-c', 'drill-b', 'drill-a']);
    expect(lines[3]).toMatch(/^2026-12-02T07:02:00Z\s+ranking-replica-kill\s+ranking-service-2\s+passed\s+700 ms\s+8 s\s+1 \(0\.5%\)\s+90\s+drill-d$/);
    // a, c, d scored (b running, e a dry run): last 90 against the mean of 82.5 and 0
    expect(text).toMatch(/^ranking-replica-kill\s+3\s+90\s+57\.5\s+90\s+0\s+\+48\.8$/m);
    expect(historyTables(await listDrillRuns(pool, { scenario: 'ranking-tier-lost' }))).toBe('no drill runs stored (start one: ops drill run <scenario>)');
  });
});
