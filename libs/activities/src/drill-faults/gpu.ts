// The GPU of a ranking replica gone: the replica is restarted through the Platform as a GPU replica
// (RANKING_EXECUTION_PROVIDER=cuda, with the cpu fall-back allowed) on a host whose GPU is not
// there (CUDA_VISIBLE_DEVICES="" hides every device where there is one; where onnxruntime-node has
// no CUDA binaries, cuda is missing anyway). What is simulated: that the replica was a GPU replica
// (the embedded stack runs its replicas on cpu) and the moment the GPU goes (a restart, as a pod
// rescheduled onto a node without its GPU). What is real: the restart, the encoder's CUDA session
// failing and its fall-back to cpu, the replica reporting what it runs on, the gateway routing
// around it. Proof: the Platform reports the new process with those overrides. Detection: the
// replica itself reports, in ListModels (and its /metrics ranksafe_ranking_execution_provider),
// that it runs on cpu while cuda was asked for. Undone from the record alone: a restart with the
// env overrides the instance had before (none: its declared env).
import { listIncidents } from '@ranksafe/db';
import type { ReplicaModel } from '../serving';
import { storedExtra, type DetectedIncident, type DriverObservation, type FaultDriver, type DrillDeps, type InjectedFault } from './types';

/** What the restarted replica runs with: cuda asked for, the fall-back to cpu allowed, no device visible. */
export const GPU_LOST_ENV: Readonly<Record<string, string>> = {
  RANKING_EXECUTION_PROVIDER: 'cuda',
  RANKING_CUDA_FALLBACK: 'cpu',
  CUDA_VISIBLE_DEVICES: '',
};

/** Grace of the restarts (the replica drains, the gateway routes around it). */
const GRACE_MS = 5000;

const envText = (env: Record<string, string>) =>
  Object.entries(env)
    .map(([k, v]) => `${k}=${v === '' ? '""' : v}`)
    .join(' ');

const hasGpuLost = (env: Record<string, string> | undefined) => !!env && Object.entries(GPU_LOST_ENV).every(([k, v]) => env[k] === v);

/** The default model of a replica when it serves on the cpu fall-back of a cuda configuration. */
const onFallback = (models: ReplicaModel[]) => {
  const m = models.find((x) => x.isDefault) ?? models[0];
  return m && m.requestedExecutionProvider === 'cuda' && m.executionProvider === 'cpu' ? m : undefined;
};

async function modelsOf(deps: Pick<DrillDeps, 'serving'>, address: string): Promise<ReplicaModel[] | string> {
  try {
    return await deps.serving.listModels(address);
  } catch (e) {
    return (e as Error).message.split('\n')[0]!;
  }
}

const addressOf = (o: DriverObservation, f: InjectedFault) => o.instances.find((i) => i.name === f.instance)?.address ?? '';

/** The monitor's incidents on the target since injection (the restart is an outage it may see). */
async function incidentsSince(deps: Pick<DrillDeps, 'pool'>, instance: string, sinceUnixMs: number) {
  return (await listIncidents(deps.pool, { instance, limit: 5 })).filter((x) => x.detectedAt.getTime() >= sinceUnixMs - 1000);
}

export const gpuLostFault: FaultDriver = {
  describe: () => `restarted as a GPU replica whose GPU is gone (${envText(GPU_LOST_ENV)}): it must come back serving on the cpu fall-back`,
  reverts: (_spec, instances) => instances.map((i) => `restart ${i.name} with its normal config (the env overrides it had before; none = its declared env)`),
  recorded: true,
  async inject({ platform }, { instance }) {
    const before = await platform.get(instance.name);
    const priorEnv = before.envOverrides ?? {};
    const env = { ...priorEnv, ...GPU_LOST_ENV };
    const t = Date.now();
    const r = await platform.restart(instance.name, { graceMs: GRACE_MS, env });
    return { injectedAtUnixMs: t, pid: before.pid, extra: { priorEnv, env, restartedPid: r.pid } };
  },
  async prove({ platform }, { fault: f }) {
    const now = await platform.get(f.instance);
    if (now.state !== 'running') return { problem: `${f.instance} is ${now.state} after its restart as a GPU replica` };
    if (now.pid === f.pid || now.startedAt.getTime() < f.injectedAtUnixMs)
      return { problem: `${f.instance} still runs as pid ${now.pid}: the restart did not take` };
    if (!hasGpuLost(now.envOverrides))
      return {
        problem: `${f.instance} (pid ${now.pid}) runs without the GPU-lost overrides (${envText(now.envOverrides ?? {}) || 'none'}): the fault did not take`,
      };
    return {
      proof: `${f.instance} restarted (pid ${f.pid} → ${now.pid}) as a GPU replica with no GPU visible: the Platform runs it with ${envText(GPU_LOST_ENV)}`,
    };
  },
  async detect(deps, o) {
    const incidents: DetectedIncident[] = [];
    const at: number[] = [];
    for (const f of o.faults) {
      const models = await modelsOf(deps, addressOf(o, f));
      const m = typeof models === 'string' ? undefined : onFallback(models);
      if (m && (m.loadedAtUnixMs ?? 0) >= f.injectedAtUnixMs) {
        // The replica says so from the moment its model is loaded on the fall-back (ListModels lists it from then on).
        at.push(m.loadedAtUnixMs!);
        incidents.push({
          id: `${f.instance}/execution-provider`,
          instance: f.instance,
          state: `serving on cpu, cuda requested (${m.executionProviderFallback || 'fell back'})`,
          detectedAtUnixMs: m.loadedAtUnixMs!,
        });
      }
      for (const i of await incidentsSince(deps, f.instance, o.injectedAtUnixMs))
        incidents.push({
          id: i.id,
          instance: f.instance,
          state: i.state,
          detectedAtUnixMs: i.detectedAt.getTime(),
          recoveryWorkflowId: i.recoveryWorkflowId ?? undefined,
        });
    }
    return { detectedAtUnixMs: o.faults.length && at.length === o.faults.length ? Math.max(...at) : undefined, incidents };
  },
  async notRestored(deps, o) {
    const problems: string[] = [];
    for (const f of o.faults) {
      const models = await modelsOf(deps, addressOf(o, f));
      if (typeof models === 'string') problems.push(`${f.instance} models unreadable (${models})`);
      else if (!onFallback(models)) {
        const m = models.find((x) => x.isDefault) ?? models[0];
        problems.push(
          `${f.instance} not serving on the cpu fall-back (${m ? `runs on ${m.executionProvider}, ${m.requestedExecutionProvider} requested` : 'no model'})`,
        );
      }
      for (const i of await incidentsSince(deps, f.instance, o.injectedAtUnixMs))
        if (i.state === 'open' || i.state === 'recovering') problems.push(`${f.instance}: incident ${i.id} ${i.state}`);
    }
    return problems;
  },
  async revert({ platform }, f) {
    const priorEnv = storedExtra<{ priorEnv?: Record<string, string> }>(f)?.priorEnv ?? {};
    const now = await platform.get(f.target);
    if (!hasGpuLost(now.envOverrides)) return `${f.target} already runs with its normal config (${envText(now.envOverrides ?? {}) || 'its declared env'})`;
    const r = Object.keys(priorEnv).length
      ? await platform.restart(f.target, { graceMs: GRACE_MS, env: priorEnv })
      : await platform.restart(f.target, { graceMs: GRACE_MS, resetEnv: true });
    return `${f.target} restarted with its normal config (pid ${now.pid} → ${r.pid}; ${envText(priorEnv) || 'its declared env'})`;
  },
};
