// A bad model rollout as a drill: a ModelRollout of a known-bad candidate (the registry's
// `known-bad` alias unless fault.rollout.version names one), started on behalf of the drill (so
// the drill's exclusion of rollouts lets it through). The rollout's own quality gate or canary
// analysis must judge it bad (detection) and roll it back (recovery): traffic, the production
// alias and every replica's default back on the version that was production. Undo: abort the
// rollout if it still runs (it rolls back itself).
import { ApplicationFailure } from '@temporalio/activity';
import type { DrillSpec } from '@ranksafe/drills';
import { storedExtra, type DrillDeps, type DrillRollouts, type FaultDriver, type InjectedFault, type RolloutView } from './types';

export const KNOWN_BAD_ALIAS = 'known-bad';

function rolloutsOf(deps: Pick<DrillDeps, 'drills'>): DrillRollouts {
  if (!deps.drills.rollouts)
    throw ApplicationFailure.create({ type: 'DrillRefused', nonRetryable: true, message: 'this worker cannot start rollouts (no Temporal client for drills)' });
  return deps.drills.rollouts;
}

const want = (spec: DrillSpec) => spec.fault.rollout!;
const gateSkipped = (spec: DrillSpec) => (want(spec).strategy['qualityGate'] as { skip?: boolean } | undefined)?.skip === true;

/** What the record keeps (fault.extra): the rollout run and what was production before it. */
interface RolloutExtra {
  workflowId: string;
  runId: string;
  model: string;
  version: string;
  productionVersion: string;
}
const extraOf = (f: Pick<InjectedFault, 'extra'>) => f.extra as unknown as RolloutExtra;

async function view(deps: DrillDeps, f: InjectedFault): Promise<RolloutView> {
  const x = extraOf(f);
  return rolloutsOf(deps).get(x.workflowId, x.runId);
}

export const badRolloutFault: FaultDriver = {
  describe: (spec) =>
    `roll out ${want(spec).model}/${want(spec).version || `@${KNOWN_BAD_ALIAS}`} (known bad) ${gateSkipped(spec) ? 'past the quality gate: the canary analysis must catch it' : 'through the quality gate: the gate must refuse it'}`,
  reverts: (spec) => [`abort the rollout of ${want(spec).model} if it still runs (it rolls traffic, alias and replicas back to production)`],
  recorded: true,
  async inject(deps, { drillWorkflowId, spec, instance }) {
    const { model, version: asked, strategy } = want(spec);
    const version = asked || (await deps.registry.aliasVersion(model, KNOWN_BAD_ALIAS));
    if (!version)
      throw ApplicationFailure.create({
        type: 'DrillRefused',
        nonRetryable: true,
        message: `${model} has no ${KNOWN_BAD_ALIAS} alias: publish a known-bad candidate (ops model publish models/minilm-l6-v2-bad) or name fault.rollout.version`,
      });
    const productionVersion = await deps.registry.aliasVersion(model, 'production');
    if (productionVersion === version)
      throw ApplicationFailure.create({ type: 'DrillRefused', nonRetryable: true, message: `${model}/${version} is production: it is not a candidate` });
    const t = Date.now();
    const r = await rolloutsOf(deps).start({
      model,
      version,
      strategy,
      drill: drillWorkflowId,
      reason: `drill ${drillWorkflowId} (${instance.name}…): known-bad candidate`,
    });
    return { injectedAtUnixMs: t, extra: { ...r, model, version, productionVersion } satisfies RolloutExtra };
  },
  async prove(deps, { fault }) {
    const v = await view(deps, fault);
    const x = extraOf(fault);
    if (v.status !== 'RUNNING' && v.status !== 'COMPLETED') return { problem: `rollout ${v.workflowId} ${v.status.toLowerCase()}: ${v.error ?? ''}` };
    if (v.version !== x.version) return { problem: `rollout ${v.workflowId} rolls out ${v.version}, not ${x.version}` };
    if (v.status === 'RUNNING') return { proof: `rollout ${v.workflowId} of ${x.model}/${x.version} over ${x.productionVersion} under way (phase ${v.phase})` };
    if (v.status === 'COMPLETED' && v.verdict.failed)
      return { proof: `rollout ${v.workflowId} of ${x.model}/${x.version} ran and already judged it (${v.verdict.by}: ${v.verdict.detail})` };
    return {
      problem: `rollout ${v.workflowId} ${v.status.toLowerCase()}${v.outcome ? ` as ${v.outcome}` : ''} without judging the candidate: ${v.error ?? v.reason ?? ''}`,
    };
  },
  async detect(deps, { faults }) {
    const f = faults[0];
    if (!f) return { incidents: [] };
    const v = await view(deps, f);
    if (!v.verdict.failed) return { incidents: [] };
    const at = v.verdict.atUnixMs ?? Date.now();
    const state = v.status === 'COMPLETED' && v.outcome === 'rolled-back' ? 'recovered' : v.status === 'RUNNING' ? 'recovering' : 'unrecovered';
    return {
      detectedAtUnixMs: at,
      incidents: [{ id: v.workflowId, instance: extraOf(f).model, state, detectedAtUnixMs: at, recoveryWorkflowId: v.workflowId }],
    };
  },
  async notRestored(deps, { faults }) {
    const f = faults[0];
    if (!f) return ['nothing was rolled out'];
    const x = extraOf(f);
    const v = await view(deps, f);
    if (v.status === 'RUNNING')
      return [`rollout ${v.workflowId} ${v.phase}${v.verdict.failed ? ` after its failed verdict (${v.verdict.by})` : ', no verdict yet'}`];
    if (!v.verdict.failed) return [`rollout ${v.workflowId} ended ${v.outcome ?? v.status.toLowerCase()} without judging ${x.version} bad`];
    if (v.outcome !== 'rolled-back') return [`rollout ${v.workflowId} ended ${v.outcome ?? v.status.toLowerCase()}, not rolled back`];
    const problems: string[] = [];
    const production = await deps.registry.aliasVersion(x.model, 'production');
    if (production !== x.productionVersion) problems.push(`production alias is ${production}, not ${x.productionVersion}`);
    for (const r of await deps.platform.list({ component: 'ranking-service' })) {
      if (!r.address) continue;
      const models = (await deps.serving.listModels(r.address)).filter((m) => m.model === x.model);
      const def = models.find((m) => m.isDefault);
      if (def?.version !== x.productionVersion) problems.push(`${r.name} serves ${def?.version ?? 'nothing'} by default`);
      if (models.some((m) => m.version === x.version)) problems.push(`${r.name} still holds ${x.version}`);
    }
    return problems;
  },
  async revert({ drills }, f) {
    const x = storedExtra<RolloutExtra>(f);
    if (!x) return `${f.id}: no rollout was started`;
    const rollouts = drills?.rollouts;
    if (!rollouts) return `${f.id}: cannot reach the rollout ${x.workflowId} (no Temporal client); it rolls back on its own analysis`;
    const v = await rollouts.get(x.workflowId, x.runId);
    if (v.status !== 'RUNNING') return `rollout ${x.workflowId} already ${v.outcome ?? v.status.toLowerCase()}`;
    await rollouts.abort(x.workflowId, x.runId, `drill ${f.drillWorkflowId} cleanup`);
    return `rollout ${x.workflowId} asked to roll back (abort signal)`;
  },
};
