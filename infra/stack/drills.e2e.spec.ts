// The drill catalog on the real stack (npm start: 2 replicas per tier, Temporal dev server,
// Postgres, the drill-worker, the load agent the Platform starts), one scenario after another on
// one shared stack, each a drillWorkflow started as a person would (Temporal client / the UI) and
// judged from what it stored: the outcome, MTTD / RTO, what clients saw, the fault reverted, the
// report written. Figures are printed, not asserted (the machines are noisy).
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { Client, Connection } from '@temporalio/client';
import { createPool, getDrillRun, listActiveDrillFaults, getLoad } from '@ranksafe/db';
import type { DrillInput, DrillResult } from '@ranksafe/drills';
import { PlatformClient } from '@ranksafe/platform';
import { RankingClient } from '@ranksafe/proto';
import { checkHealth, unaryCall } from '@ranksafe/serving-kit';
import { eventually, launchBrowser, screenshotPath } from '@ranksafe/testing';
import { RegistryClient } from '@ranksafe/registry-client';
import { drillWorkflow, ids, SA, type RolloutResult } from '@ranksafe/workflows';
import { testStack, type TestStack } from './harness';

/** Short phases: this proves the mechanics; ~half of what the box serves with the whole stack on it. */
const FAST = { load: { ratePerSec: 8 }, timing: { baselineMs: 5000, afterMs: 4000 }, steadyState: { windowMs: 4000, minRequests: 10, maxP99Ms: 3000 } };

describe('drills on the real stack under load', () => {
  let stack: TestStack;
  let temporal: Client;
  let conn: Connection;
  let platform: PlatformClient;
  let pool: ReturnType<typeof createPool>;
  let registry: RegistryClient;
  const table: string[] = [];
  /** The passing ranking-replica-kill drill, for the browser checks. */
  let killDrill = '';
  let killReport = '';

  beforeAll(async () => {
    // One stack for every scenario, on a small demo shop (1500 products; DRILLS_E2E_PRODUCTS=10000 for the
    // issue's 10k shop, which on 2 cores leaves retrieval less headroom: see the README).
    const products = process.env['DRILLS_E2E_PRODUCTS'] ?? '1500';
    stack = await testStack('drills', {
      MONITORS: 'on',
      DEMO_CATALOG_PRODUCTS: products,
      DEMO_CATALOG_USERS: String(Math.max(50, Math.round(Number(products) / 20))),
    });
    await stack.start();
    const warm = await stack.steadySearch();
    console.log(`drills e2e: ${products} products; steady after ${warm.sent} warm-up searches (${warm.ms} ms)`);
    conn = await Connection.connect({ address: `127.0.0.1:${stack.base + 6}` });
    temporal = new Client({ connection: conn });
    platform = new PlatformClient(`127.0.0.1:${stack.base + 8}`, stack.adminToken());
    pool = createPool(stack.env.DATABASE_URL!, { max: 2 });
    registry = new RegistryClient(`127.0.0.1:${stack.base + 5}`, { token: stack.adminToken(), actor: 'e2e' });
  }, 300_000);
  afterAll(async () => {
    console.log(
      `drills e2e (2 replicas per tier, load agent at ${FAST.load.ratePerSec}/s):\n  scenario                 outcome   MTTD      RTO       requests  failed  degraded  score\n  ${table.join('\n  ')}`,
    );
    platform?.close();
    registry?.close();
    await pool?.end();
    await conn?.close();
    await stack?.teardown();
  });

  /**
   * One drill as an operator runs it: `ops drill run <scenario> --set …` (every field of the input as a
   * --set), followed to its end; the result read back from Temporal, its report checked on disk.
   */
  async function drill(
    input: DrillInput,
  ): Promise<{ result: DrillResult; workflowId: string; memo: Record<string, unknown>; sa: (k: (typeof SA)[keyof typeof SA]) => unknown }> {
    const { scenario, ...rest } = { ...FAST, ...input } as DrillInput & Record<string, unknown>;
    const sets = Object.entries(rest).flatMap(([k, v]) => ['--set', `${k}=${JSON.stringify(v)}`]);
    const r = await stack.opsAsync(['drill', 'run', scenario, ...sets], 420_000);
    const workflowId = new RegExp(`(drill-${scenario}-[0-9TZ]+)`).exec(r.stderr + r.stdout)?.[1];
    if (!workflowId) throw new Error(`ops drill run ${scenario} started nothing (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
    const h = temporal.workflow.getHandle<typeof drillWorkflow>(workflowId);
    const result = await h.result();
    const d = await h.describe();
    const f = result.figures;
    const ms = (x?: number) => (x === undefined ? '-' : `${x} ms`).padEnd(10);
    table.push(
      `${result.scenario.padEnd(25)}${result.outcome.padEnd(10)}${ms(f.mttdMs)}${ms(f.rtoMs)}${String(f.requests).padEnd(10)}${String(f.failed).padEnd(8)}${`${(f.degradedShare * 100).toFixed(1)}%`.padEnd(10)}${result.score.value}${f.rpoMs === undefined ? '' : `  RPO ${f.rpoMs} ms`}`,
    );
    if (result.outcome !== 'passed' && result.outcome !== 'dry-run') console.log(`${workflowId}: ${result.reason}\n${JSON.stringify(result.checks, null, 1)}`);
    // The command's exit code is the outcome (0 passed or dry run, 2 failed or aborted); a run that injected wrote its report.
    expect([r.status, result.outcome]).toEqual([result.outcome === 'passed' || result.outcome === 'dry-run' ? 0 : 2, result.outcome]);
    if (result.outcome !== 'dry-run' && result.marks.injectedAtUnixMs) expect(r.stdout).toContain(`${workflowId}.html`);
    return { result, workflowId, memo: (d.memo ?? {}) as Record<string, unknown>, sa: (k) => d.typedSearchAttributes.get(k as never) };
  }

  /** What every drill leaves behind: no fault active, the load stopped, every replica back. */
  async function leftClean(workflowId: string) {
    expect(await listActiveDrillFaults(pool, workflowId)).toEqual([]);
    expect((await getLoad(pool, workflowId))?.state).toBe('stopped');
    expect((await platform.get('load-agent')).state).not.toBe('running');
    for (const r of [...(await platform.list({ component: 'ranking-service' })), ...(await platform.list({ component: 'retrieval-service' }))])
      expect([r.name, r.state]).toEqual([r.name, 'running']);
  }

  it('a dry run shows the blast radius and injects nothing', async () => {
    const before = (await platform.get('ranking-service-2')).pid;
    const { result } = await drill({ scenario: 'ranking-replica-kill', dryRun: true });
    expect(result.outcome).toBe('dry-run');
    expect(result.blastRadius).toMatchObject({ tier: 'ranking-service', instances: ['ranking-service-2'], replicas: 2, capacityShare: 0.5, fault: 'SIGKILL' });
    expect((await platform.get('ranking-service-2')).pid).toBe(before);
  }, 120_000);

  it('ranking replica SIGKILL: detected, recovered by the Recovery saga, no request failed; report written', async () => {
    const { result, workflowId, memo, sa } = await drill({ scenario: 'ranking-replica-kill' });
    expect([result.outcome, result.reason]).toEqual(['passed', expect.any(String)]);
    expect(result.checks.find((c) => c.name === 'injection took effect')).toMatchObject({ ok: true, detail: expect.stringContaining('SIGKILL') });
    expect(result.figures.mttdMs).toBeGreaterThan(0);
    expect(result.figures.rtoMs).toBeGreaterThan(result.figures.mttdMs!);
    expect(result.figures.failed).toBe(0);
    expect(result.figures.requests).toBeGreaterThan(50);
    expect(result.steps.some((s) => s.source === 'recover-ranking-service-2' && s.step === 'restart' && s.state === 'completed')).toBe(true);
    expect(sa(SA.DrillScenario)).toBe('ranking-replica-kill');
    expect(sa(SA.DrillOutcome)).toBe('passed');
    expect(String(memo['report'])).toContain('passed');
    const stored = await getDrillRun(pool, workflowId);
    expect(stored).toMatchObject({ outcome: 'passed', scenario: 'ranking-replica-kill', failed: 0 });
    expect(stored!.score).toBeGreaterThan(0);
    const html = String(memo['reportHtml']);
    expect(fs.readFileSync(html, 'utf8')).toContain('id="timeline-chart"');
    await leftClean(workflowId);
    killDrill = workflowId;
    killReport = html;
  }, 240_000);

  it('the HTML report opens offline in a browser and its chart rendered, marked with injection, detection and recovery', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
      const external: string[] = [];
      page.on('request', (r) => void (r.url().startsWith('file:') || external.push(r.url())));
      await page.goto(`file://${killReport}`);
      const chart = page.locator('svg#timeline-chart');
      await chart.waitFor();
      const box = await chart.boundingBox();
      expect(box!.width).toBeGreaterThan(300);
      expect(await chart.locator('path[data-series="p99"]').getAttribute('d')).toMatch(/^M[\d.]+/);
      for (const mark of ['injected', 'detected', 'recovered']) expect(await chart.locator(`[data-mark="${mark}"]`).count()).toBe(1);
      expect(await page.textContent('body')).toContain('passed');
      expect(external).toEqual([]); // self-contained: nothing fetched from anywhere
      await page.screenshot({ path: screenshotPath('drill-report'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 120_000);

  it('the Temporal UI finds the finished drill by its DrillScenario search attribute and shows its outcome and summary', async () => {
    const ui = `http://127.0.0.1:${stack.base + 7}`;
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const query = encodeURIComponent(`DrillScenario="ranking-replica-kill" AND DrillOutcome="passed"`);
      await page.goto(`${ui}/namespaces/default/workflows?query=${query}`);
      await page.getByText(killDrill).first().waitFor({ timeout: 60_000 });
      await page.screenshot({ path: screenshotPath('temporal-ui-drills'), fullPage: true });
      await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(killDrill)}`);
      await page.getByText('Completed').first().waitFor({ timeout: 60_000 });
      // The result (outcome, reason, figures) is on the page; the summary a person reads is the memo.
      await page.getByText('"outcome": "passed"').first().waitFor({ timeout: 30_000 });
      await page.screenshot({ path: screenshotPath('temporal-ui-drill'), fullPage: true });
      await page.getByText('Memo', { exact: true }).first().click();
      await page
        .getByText(/Ranking replica SIGKILL: PASSED/)
        .first()
        .waitFor({ timeout: 30_000 });
      await page.screenshot({ path: screenshotPath('temporal-ui-drill-memo'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 180_000);

  it('retrieval replica SIGKILL: detected and recovered, no request failed', async () => {
    const { result, workflowId } = await drill({ scenario: 'retrieval-replica-kill' });
    expect([result.outcome, result.reason]).toEqual(['passed', expect.any(String)]);
    expect(result.figures.failed).toBe(0);
    await leftClean(workflowId);
  }, 240_000);

  it('ranking replica slow (+3 s on Rank): the latency probe detects it, Recovery restarts it (clearing the fault); clients are answered', async () => {
    const { result, workflowId } = await drill({ scenario: 'ranking-replica-latency' });
    expect(result.checks.find((c) => c.name === 'injection took effect')).toMatchObject({ ok: true, detail: expect.stringContaining('answered a probe in') });
    expect([result.outcome, result.reason]).toEqual(['passed', expect.any(String)]);
    expect(result.figures.mttdMs).toBeGreaterThan(0);
    await leftClean(workflowId);
  }, 240_000);

  it('the whole ranking tier lost: Search and Recommend degrade and never fail; every replica is recovered', async () => {
    const { result, workflowId } = await drill({ scenario: 'ranking-tier-lost' });
    expect([result.outcome, result.reason]).toEqual(['passed', expect.any(String)]);
    expect(result.blastRadius.instances).toEqual(['ranking-service-1', 'ranking-service-2']);
    expect(result.figures.failed).toBe(0);
    expect(result.figures.during.degraded).toBeGreaterThan(0);
    await leftClean(workflowId);
  }, 240_000);

  it('drill-worker SIGKILLed mid-recovery: the Platform starts it again, the Recovery resumes and completes, no step repeated', async () => {
    const before = (await platform.get('drill-worker')).restarts;
    const { result, workflowId } = await drill({ scenario: 'worker-killed-mid-recovery' });
    expect([result.outcome, result.reason]).toEqual(['passed', expect.any(String)]);
    expect(result.checks.find((c) => c.name === 'no step repeated')).toMatchObject({ ok: true });
    expect((await platform.get('drill-worker')).restarts).toBe(before + 1);
    expect(result.figures.failed).toBe(0);
    await leftClean(workflowId);
  }, 300_000);

  it('Temporal SIGKILLed mid-drill: it comes back from its file database, and the monitor, the Recovery and the drill resume', async () => {
    const before = (await platform.get('temporal')).restarts;
    const { result, workflowId } = await drill({ scenario: 'temporal-restart' });
    expect([result.outcome, result.reason]).toEqual(['passed', expect.any(String)]);
    expect((await platform.get('temporal')).restarts).toBe(before + 1);
    expect(result.figures.failed).toBe(0);
    await leftClean(workflowId);
  }, 300_000);

  it('bad model rollout: the canary analysis catches the known-bad candidate and rolls it back; no request failed', async () => {
    const production = await registry.aliasVersion('minilm-l6-v2', 'production');
    const knownBad = await registry.aliasVersion('minilm-l6-v2', 'known-bad');
    expect(knownBad).toMatch(/^int8-[0-9a-f]{12}$/);
    const { result, workflowId } = await drill({ scenario: 'bad-model-rollout' });
    expect([result.outcome, result.reason]).toEqual(['passed', expect.any(String)]);
    expect(result.checks.find((c) => c.name === 'injection took effect')?.detail).toContain(`minilm-l6-v2/${knownBad}`);
    expect(result.figures.mttdMs).toBeGreaterThan(0);
    expect(result.figures.rtoMs).toBeGreaterThanOrEqual(result.figures.mttdMs!);
    expect(result.figures.failed).toBe(0);
    // The rollout the drill started judged it in its canary analysis and rolled back: alias and replicas on production.
    const rollout: RolloutResult = await temporal.workflow.getHandle(ids.rollout('minilm-l6-v2')).result();
    expect(rollout).toMatchObject({ version: knownBad, outcome: 'rolled-back', reason: expect.stringMatching(/canary analysis failed/) });
    expect(await registry.aliasVersion('minilm-l6-v2', 'production')).toBe(production);
    // The report's step timeline holds the rollout's own steps (its rollback among them).
    expect(result.steps.some((s) => s.source === ids.rollout('minilm-l6-v2'))).toBe(true);
    console.log(`bad-model-rollout: failed analysis → rolled back in ${rollout.rollbackMs} ms`);
    await leftClean(workflowId);
  }, 300_000);

  it('bad model rollout through the quality gate: the gate refuses it before it answers anything', async () => {
    const { result, workflowId } = await drill({
      scenario: 'bad-model-rollout',
      fault: { rollout: { strategy: { qualityGate: { skip: false } } } },
    } as unknown as DrillInput);
    expect([result.outcome, result.reason]).toEqual(['passed', expect.any(String)]);
    const rollout: RolloutResult = await temporal.workflow.getHandle(ids.rollout('minilm-l6-v2')).result();
    expect(rollout).toMatchObject({ outcome: 'rolled-back', reason: expect.stringMatching(/^quality gate failed/), analyses: [] });
    expect(result.figures.failed).toBe(0);
    await leftClean(workflowId);
  }, 300_000);

  it('bad recommender rollout: the quality gate refuses the untrained recommender before it answers a Recommend', async () => {
    const production = await registry.aliasVersion('seqrec-demo', 'production');
    const knownBad = await registry.aliasVersion('seqrec-demo', 'known-bad');
    expect(knownBad).toMatch(/^fp32-[0-9a-f]{12}$/);
    const { result, workflowId } = await drill({ scenario: 'bad-recommender-rollout' });
    expect([result.outcome, result.reason]).toEqual(['passed', expect.any(String)]);
    expect(result.checks.find((c) => c.name === 'injection took effect')?.detail).toContain(`seqrec-demo/${knownBad}`);
    const rollout: RolloutResult = await temporal.workflow.getHandle(ids.rollout('seqrec-demo')).result();
    expect(rollout).toMatchObject({
      version: knownBad,
      outcome: 'rolled-back',
      reason: expect.stringMatching(/^quality gate failed: next-item ndcg@10 [\d.]+ < production [\d.]+ − 0.02 over \d+ held-out histories/),
      analyses: [],
    });
    expect(await registry.aliasVersion('seqrec-demo', 'production')).toBe(production);
    expect(result.figures.failed).toBe(0);
    console.log(`bad-recommender-rollout: ${rollout.reason}; MTTD ${result.figures.mttdMs} ms, RTO ${result.figures.rtoMs} ms`);
    await leftClean(workflowId);
  }, 300_000);

  it('backup restore: the newest verified snapshot restores into a sandbox and verifies; RPO reported and stored', async () => {
    const snap = stack.ops('snapshot', 'run');
    expect(snap.status).toBe(0);
    expect(snap.stdout).toMatch(/verified/);
    const { result, workflowId } = await drill({ scenario: 'backup-restore' });
    expect([result.outcome, result.reason]).toEqual(['passed', expect.any(String)]);
    expect(result.figures.rpoMs).toBeGreaterThanOrEqual(0);
    const stored = await getDrillRun(pool, workflowId);
    expect(stored).toMatchObject({ outcome: 'passed', scenario: 'backup-restore', failed: 0, rpoMs: result.figures.rpoMs });
  }, 300_000);

  it('corrupted model artifact: the reload is refused with DATA_LOSS while the replica keeps serving, a fresh download is refused, the registry flags it; reverted, it verifies again', async () => {
    const { result, workflowId } = await drill({ scenario: 'corrupted-artifact' });
    expect([result.outcome, result.reason]).toEqual(['passed', expect.any(String)]);
    const proof = result.checks.find((c) => c.name === 'injection took effect');
    expect(proof).toMatchObject({ ok: true });
    expect(proof!.detail).toMatch(/registry-store copy hashes to [0-9a-f]{12}, recorded/);
    expect(proof!.detail).toMatch(/replica-cache copy hashes to/);
    expect(proof!.detail).toMatch(/ranking-service-2 reload refused with DATA_LOSS/);
    expect(proof!.detail).toMatch(/ranking-service-2 kept serving \(SERVING/);
    expect(proof!.detail).toMatch(/fresh download refused with DATA_LOSS/);
    expect(result.figures.mttdMs).toBeGreaterThan(0);
    expect(result.figures.failed).toBe(0);
    // The registry's scrub flagged it (audited), and verifies it again after the revert.
    const flagged = await pool.query(`SELECT count(*)::int AS n FROM registry_audit WHERE action = 'verify_artifacts' AND at >= to_timestamp($1 / 1000.0)`, [
      result.marks.injectedAtUnixMs,
    ]);
    expect(flagged.rows[0].n).toBeGreaterThan(0);
    const v = await registry.verifyArtifacts('minilm-l6-v2');
    expect(v.flagged).toBe(0);
    expect(v.artifacts.length).toBeGreaterThan(0);
    await leftClean(workflowId);
  }, 240_000);

  it('registry database unavailable: serving goes on, mutations fail with UNAVAILABLE, the registry comes back with nothing acknowledged lost', async () => {
    const { result, workflowId } = await drill({ scenario: 'registry-db-unavailable' });
    expect([result.outcome, result.reason]).toEqual(['passed', expect.any(String)]);
    const proof = result.checks.find((c) => c.name === 'injection took effect')!;
    console.log(`registry-db-unavailable proof: ${proof.detail}`);
    expect(proof).toMatchObject({ ok: true, detail: expect.stringMatching(/refuses connections.*ECONNREFUSED/) });
    expect(proof.detail).toMatch(/a registry mutation failed cleanly in \d+ ms: UNAVAILABLE/);
    expect(result.figures.mttdMs).toBeGreaterThan(0);
    expect(result.figures.rtoMs).toBeGreaterThan(result.figures.mttdMs!);
    expect(result.figures.failed).toBe(0);
    expect(result.figures.requests).toBeGreaterThan(50);
    expect((await platform.get('registry-db-proxy')).state).toBe('running');
    expect((await platform.get('model-registry')).state).toBe('running');
    // The witness acknowledged before the cut is still there, and its history shows the CAS after the return.
    const { rows } = await pool.query<{ reason: string }>(
      `SELECT reason FROM model_alias_history WHERE alias = 'drill-witness' AND reason LIKE $1 ORDER BY at`,
      [`${workflowId}%`],
    );
    expect(rows.length).toBe(1);
    const after = await pool.query(
      `SELECT count(*)::int AS n FROM model_alias_history WHERE alias = 'drill-witness' AND reason LIKE 'drill: a mutation after%' AND at >= to_timestamp($1 / 1000.0)`,
      [result.marks.injectedAtUnixMs],
    );
    expect(after.rows[0].n).toBeGreaterThanOrEqual(1);
    await leftClean(workflowId);
  }, 240_000);

  it('GPU unavailable: the replica restarted as a GPU replica with no GPU comes back serving on the cpu fall-back and says so; no request failed; back to its normal config after', async () => {
    const target = await platform.get('ranking-service-2');
    expect(target.envOverrides).toBeUndefined();
    const rc = new RankingClient(target.address!, grpc.credentials.createInsecure());
    // What the replica itself reports while the drill runs (ListModels needs no token): [requested, active] of its default model.
    const seen = new Set<string>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        try {
          const { models } = await unaryCall(rc.listModels.bind(rc), {}, { deadlineMs: 5000 });
          const m = models.find((x) => x.isDefault);
          if (m) seen.add(`${m.requestedExecutionProvider}->${m.executionProvider}`);
        } catch {
          /* restarting */
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      const { result, workflowId } = await drill({ scenario: 'gpu-unavailable' });
      watching = false;
      await watch;
      console.log(
        `gpu-unavailable: ${result.reason}\n  proof: ${result.checks.find((c) => c.name === 'injection took effect')?.detail}\n  seen: ${[...seen].join(', ')}`,
      );
      expect([result.outcome, result.reason]).toEqual(['passed', expect.any(String)]);
      expect(result.checks.find((c) => c.name === 'injection took effect')).toMatchObject({
        ok: true,
        detail: expect.stringContaining('as a GPU replica with no GPU visible'),
      });
      expect(result.figures.failed).toBe(0);
      expect(result.figures.mttdMs).toBeGreaterThan(0);
      // During the fault the replica itself reported serving on cpu with cuda requested: the drill detected the fault from
      // its ListModels (the watcher above, polling beside it, may miss the short window on a loaded machine: logged only).
      const detected = result.steps.find((x) => x.source === 'drill' && x.step === 'detected');
      expect(detected?.detail?.['incidents']).toEqual(expect.arrayContaining(['ranking-service-2/execution-provider']));
      await leftClean(workflowId);
      // Back to its normal config: no overrides, SERVING, on cpu as configured.
      await eventually(
        async () => {
          const now = await platform.get('ranking-service-2');
          if (now.envOverrides !== undefined || now.state !== 'running') return false;
          if ((await checkHealth(now.address!, '', 1000).catch(() => ({ status: 'UNKNOWN' }))).status !== 'SERVING') return false;
          const m = (await unaryCall(rc.listModels.bind(rc), {}, { deadlineMs: 2000 })).models.find((x) => x.isDefault);
          return m?.requestedExecutionProvider === 'cpu' && m.executionProvider === 'cpu';
        },
        60_000,
        500,
      );
      await eventually(
        async () => (await pool.query(`SELECT count(*)::int AS n FROM incidents WHERE state IN ('open', 'recovering')`)).rows[0].n === 0,
        120_000,
        500,
      );
    } finally {
      watching = false;
      await watch;
      rc.close();
    }
  }, 360_000);

  it('a drill is refused while the system is not steady, and says why', async () => {
    await platform.stop('ranking-service-1', { graceMs: 1000 });
    try {
      const { result } = await drill({ scenario: 'ranking-replica-kill' });
      expect(result.outcome).toBe('aborted');
      expect(result.reason).toMatch(/refused: .*(not steady|open incident)/);
    } finally {
      await platform.start('ranking-service-1');
      await eventually(
        async () => (await pool.query(`SELECT count(*)::int AS n FROM incidents WHERE state IN ('open', 'recovering')`)).rows[0].n === 0,
        120_000,
        500,
      );
    }
  }, 240_000);
});
