// `ops rollout …` against a stand-in ModelRollout (testing/fake-rollout-workflow.ts: same type
// name, query, signals and InvalidInput) on the time-skipping test server: start detached and
// followed, the refusal of a second start, signal refusals against a live status, exit codes.
// The real workflow's end-to-end test lives with it.
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { eventually, temporalTimeSkippingEnv } from '@ranksafe/testing';
import { ids, rolloutStatusQuery } from '@ranksafe/workflows';
import { followRollout, rolloutInput, rolloutSignal, rolloutStart, rolloutStatusOf } from './rollout';

const TQ = 'test-ops-rollout';
const state = { temporalTaskQueue: TQ, temporalNamespace: 'default', temporalUiUrl: 'http://ui.test' };

function collect() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString()));
  return { out, text: () => text };
}

describe('ops rollout (stand-in workflow, time-skipping server)', () => {
  let env: TestWorkflowEnvironment;
  let worker: Worker;
  let running: Promise<void>;
  beforeAll(async () => {
    env = await temporalTimeSkippingEnv();
    worker = await Worker.create({ connection: env.nativeConnection, taskQueue: TQ, workflowsPath: require.resolve('./testing/fake-rollout-workflow') });
    running = worker.run();
  }, 120_000);
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await env?.teardown();
  });

  it('starts detached, refuses a second start and a resume, approves, follows to success (exit 0), then refuses signals', async () => {
    const model = `m-${randomUUID().slice(0, 8)}`;
    const input = rolloutInput(model, 'fp32-abc', { steps: [0.5, 1], approval: true, analysis: 1000 });
    input.strategy!.steps![1]!.analysisMs = 600_000; // passes by time-skipping, i.e. once followed
    const started = await rolloutStart(env.client, state, input, { detach: true });
    const runId = /run\s+(\S+)/.exec(started.text)![1]!;
    expect(started.exitCode).toBe(0);
    expect(started.text).toContain(`http://ui.test/namespaces/default/workflows/rollout-${model}/${runId}/history`);

    const h = env.client.workflow.getHandle(ids.rollout(model));
    await eventually(async () => (await h.query(rolloutStatusQuery)).awaitingApproval, 20_000);
    await expect(rolloutStart(env.client, state, input)).rejects.toThrow(`refused: rollout-${model} is already running (run ${runId}, started`);
    await expect(rolloutSignal(env.client, model, 'resume')).rejects.toThrow(`refused: rollout-${model} is not paused (awaiting-approval, step 2/2 at 50%)`);
    expect(await rolloutStatusOf(env.client, model)).toMatch(/waiting\s+for approval: ops rollout approve/);

    expect(await rolloutSignal(env.client, model, 'approve', 'looks good')).toBe(
      `approve sent to rollout-${model}: awaiting-approval, step 2/2 at 50% -> canary, step 2/2 at 100%`,
    );
    const live = collect();
    const r = await followRollout(h, { out: live.out, tty: false, pollMs: 100, windowMs: 1000 });
    expect(r.exitCode).toBe(0);
    expect(r.text.split('\n').at(-1)).toMatch(new RegExp(`^succeeded: ${model} fp32-abc is production \\(was int8-0\\) after 2 step\\(s\\)`));
    expect(r.text).toMatch(/^2\/?\S*\s+100%\s+passed/m);
    // one line per phase/step change; the test server may skip the window before the first poll
    expect(live.text()).toMatch(/^\d\d:\d\d:\d\d {2}(canary|succeeded), step 2\/2 at 100% {2}\| steps [12]\/2/m);

    await expect(rolloutSignal(env.client, model, 'approve')).rejects.toThrow(
      `refused: rollout-${model} is not running (its latest run is completed): nothing to approve`,
    );
    expect(await rolloutStatusOf(env.client, model)).toMatch(/state\s+completed[\s\S]*succeeded: /);
  }, 60_000);

  it('prints every problem of an input the workflow refuses (exit 1)', async () => {
    const model = `m-${randomUUID().slice(0, 8)}`;
    const r = await rolloutStart(env.client, state, rolloutInput(model, 'nope'), { out: collect().out, tty: false, pollMs: 100 });
    expect(r).toEqual({
      exitCode: 1,
      text: `failed: rollout-${model} refused its input (nothing was changed):\n  - version nope of ${model} is not registered\n  - no production alias to roll back to`,
    });
  }, 30_000);

  it('aborts: rolled back, exit 2', async () => {
    const model = `m-${randomUUID().slice(0, 8)}`;
    await rolloutStart(env.client, state, rolloutInput(model, 'int8-new', { steps: [0.5, 1], analysis: 600_000 }), { detach: true });
    const h = env.client.workflow.getHandle(ids.rollout(model));
    await eventually(async () => (await h.query(rolloutStatusQuery)).stepIndex === 0, 20_000);
    expect(await rolloutSignal(env.client, model, 'abort', 'drill')).toMatch(
      new RegExp(`^abort sent to rollout-${model}: canary, step 1/2 at 50% -> rolled-back`),
    );
    const r = await followRollout(h, { out: collect().out, tty: false, pollMs: 100 });
    expect(r.exitCode).toBe(2);
    expect(r.text.split('\n').at(-1)).toMatch(/^rolled back: .* stays at int8-0; int8-new was withdrawn \(aborted by ops\); rollback took 5 ms/);
  }, 30_000);
});
