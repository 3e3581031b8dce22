// A stand-in for ModelRollout with its contract (type name, `status` query, approve/abort signals,
// InvalidInput) and none of its work, so rollout.int.spec.ts drives the ops commands against a
// real Temporal test server. Workflow code: bundled by that test's Worker (types only from libs).
import { ApplicationFailure, condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';
import type { RolloutInput, RolloutResult, RolloutStatus } from '@ranksafe/workflows';

export async function modelRolloutWorkflow(input: RolloutInput): Promise<RolloutResult> {
  if (!/^(int8|fp32)-/.test(input.version)) {
    const problems = [`version ${input.version} of ${input.model} is not registered`, 'no production alias to roll back to'];
    throw ApplicationFailure.create({
      type: 'InvalidInput',
      nonRetryable: true,
      message: `modelRolloutWorkflow: invalid input: ${problems.join('; ')}`,
      details: problems,
    });
  }
  const startedAtUnixMs = Date.now();
  const steps = input.strategy?.steps ?? [{ weight: 0.1 }, { weight: 0.5 }, { weight: 1 }];
  const s: RolloutStatus = {
    ...{
      model: input.model,
      version: input.version,
      kind: input.kind ?? 'RANKING_MODEL',
      phase: 'canary',
      productionVersion: 'int8-0',
      stepIndex: -1,
      steps,
      weight: 0,
    },
    ...{
      paused: false,
      frozen: false,
      awaitingApproval: false,
      analyses: [],
      replicas: ['ranking-service-1'],
      timeline: [],
      compensations: [],
      ignoredSignals: [],
    },
  };
  let approved = false;
  let aborted = false;
  setHandler(defineQuery<RolloutStatus>('status'), () => s);
  setHandler(defineSignal('approve'), () => void (s.awaitingApproval ? (approved = true) : s.ignoredSignals.push('approve: nothing waits for approval')));
  setHandler(defineSignal('abort'), () => void (aborted = true));
  for (const [i, step] of steps.entries()) {
    s.stepIndex = i;
    if (step.approval) {
      Object.assign(s, { phase: 'awaiting-approval', awaitingApproval: true });
      await condition(() => approved || aborted);
      Object.assign(s, { awaitingApproval: false });
      approved = false;
    }
    if (aborted) break;
    Object.assign(s, { phase: 'canary', weight: step.weight });
    const a: RolloutStatus['analyses'][number] = { step: i, weight: step.weight, startedAtUnixMs: Date.now(), failures: {}, measurements: [] };
    s.analyses.push(a);
    await condition(() => aborted, input.strategy?.analysis?.windowMs ?? 30_000);
    a.measurements.push({ atUnixMs: Date.now(), conclusive: true, samples: { production: 50, canary: 50, mirrored: 20 }, metrics: [] });
    Object.assign(a, { endedAtUnixMs: Date.now(), outcome: aborted ? 'aborted' : 'passed' });
    s.timeline.push({ seq: s.timeline.length + 1, step: `step ${i + 1}`, state: aborted ? 'failed' : 'completed', atUnixMs: Date.now() });
    if (aborted) break;
  }
  s.phase = aborted ? 'rolled-back' : 'succeeded';
  return {
    ...{ model: input.model, version: input.version, kind: s.kind, outcome: aborted ? 'rolled-back' : 'succeeded', previousVersion: 'int8-0' },
    ...{
      analyses: s.analyses,
      startedAtUnixMs,
      endedAtUnixMs: Date.now(),
      timeline: s.timeline,
      ...(aborted ? { reason: 'aborted by ops', rollbackMs: 5 } : {}),
    },
  };
}
