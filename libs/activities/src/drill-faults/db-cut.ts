// The registry's database path cut: the Platform stops the TCP proxy the registry reaches Postgres
// through (REGISTRY_DB_PROXY), so its port refuses connections and every pooled connection is
// reset, while the Postgres everything else (this drill's own records included) shares stays up.
// Undone by starting the proxy again, from the record alone.
//
// "Nothing acknowledged is lost": just before the cut, the drill makes a registry mutation and
// records its acknowledgement (the witness: alias `drill-witness` of the model a ranking replica
// serves, set to the version it serves). Steady state is back when the proxy runs, the registry is
// SERVING and a compare-and-set on that witness (expecting the acknowledged version) succeeds: a
// mutation goes through, and the one acknowledged before the cut is still there.
import { ApplicationFailure } from '@temporalio/activity';
import { probeDatabase } from '@ranksafe/db';
import { isPlatformError, REGISTRY_DB_PROXY } from '@ranksafe/platform';
import { storedExtra, type DetectedIncident, type DrillDeps, type FaultDriver, type InjectedFault } from './types';

export const WITNESS_ALIAS = 'drill-witness';
/** A mutation during the cut must fail well within this (UNAVAILABLE), not hang. */
const MUTATION_DEADLINE_MS = 5000;

export interface DbCutWitness {
  model: string;
  alias: string;
  version: string;
  ackedAtUnixMs: number;
}

const codeName: Record<number, string> = { 4: 'DEADLINE_EXCEEDED', 10: 'ABORTED', 13: 'INTERNAL', 14: 'UNAVAILABLE', 5: 'NOT_FOUND' };
const codeOf = (e: unknown): number | undefined => {
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
};
const firstLine = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

function witnessOf(f: Pick<InjectedFault, 'extra'>): DbCutWitness | undefined {
  const w = f.extra?.['witness'] as DbCutWitness | undefined;
  return w?.model ? w : undefined;
}

/** A model version the registry surely has: the default model of the first ranking replica that answers. */
async function servedModel(deps: Pick<DrillDeps, 'platform' | 'serving'>): Promise<{ model: string; version: string }> {
  for (const r of await deps.platform.list({ component: 'ranking-service' })) {
    if (!r.address || r.state !== 'running') continue;
    const models = await deps.serving.listModels(r.address).catch(() => []);
    const m = models.find((x) => x.isDefault) ?? models[0];
    if (m) return { model: m.model, version: m.version };
  }
  throw ApplicationFailure.create({ type: 'DrillRefused', nonRetryable: true, message: 'no ranking replica answers with a served model: no witness to write' });
}

/** The compare-and-set on the witness (a real registry mutation): resolves, or rejects with the registry's error. */
function casWitness(deps: Pick<DrillDeps, 'registry'>, w: DbCutWitness, reason: string) {
  return deps.registry.setAlias(
    { name: w.model, alias: w.alias, version: w.version, expectedVersion: w.version, reason },
    { deadlineMs: MUTATION_DEADLINE_MS },
  );
}

export const dbCutFault: FaultDriver = {
  describe: () => `cut the registry's database path (stop ${REGISTRY_DB_PROXY} through the Platform; the shared Postgres stays up)`,
  reverts: (_spec, instances) => instances.map((i) => `start ${REGISTRY_DB_PROXY} again (${i.name}'s path to Postgres) unless it already runs`),
  recorded: true,
  async inject(deps, { drillWorkflowId }) {
    const { platform, registry } = deps;
    const proxy = await platform.get(REGISTRY_DB_PROXY).catch((e: unknown) => {
      if (isPlatformError(e, 'not_found'))
        throw ApplicationFailure.create({
          type: 'DrillRefused',
          nonRetryable: true,
          message: `no ${REGISTRY_DB_PROXY} is known to the Platform: the registry reaches Postgres directly, and cutting that Postgres would cut everything`,
        });
      throw e;
    });
    if (proxy.state !== 'running')
      throw ApplicationFailure.create({ type: 'DrillRefused', nonRetryable: true, message: `not steady: ${REGISTRY_DB_PROXY} is ${proxy.state}` });
    // The witness: a mutation acknowledged just before the cut.
    const served = await servedModel(deps);
    const current = await registry.aliasVersion(served.model, WITNESS_ALIAS);
    const acked = await registry.setAlias({
      name: served.model,
      alias: WITNESS_ALIAS,
      version: served.version,
      expectedVersion: current,
      reason: `${drillWorkflowId}: acknowledged just before the registry's database path is cut`,
    });
    const witness: DbCutWitness = { model: served.model, alias: WITNESS_ALIAS, version: served.version, ackedAtUnixMs: Number(acked.updatedAtUnixMs) };
    const t = Date.now();
    // SIGTERM: the proxy resets every connection through it and exits (SIGKILL after 2 s). A stop,
    // not a kill: the Platform's restart policy leaves a stopped instance stopped.
    await platform.stop(REGISTRY_DB_PROXY, { graceMs: 2000 });
    return { injectedAtUnixMs: t, pid: proxy.pid, extra: { proxy: REGISTRY_DB_PROXY, proxyAddress: proxy.address, witness } };
  },
  async prove(deps, { fault: f }) {
    const problems: string[] = [];
    const proofs: string[] = [];
    const proxy = await deps.platform.get(REGISTRY_DB_PROXY);
    if (proxy.state === 'running') problems.push(`${REGISTRY_DB_PROXY} still runs as pid ${proxy.pid}`);
    else proofs.push(`${REGISTRY_DB_PROXY} ${proxy.state} (pid ${f.pid} gone)`);
    // The registry's own database address really refuses a Postgres connection.
    const address = String(f.extra?.['proxyAddress'] ?? proxy.address ?? '');
    const refused = await probeDatabase(`postgres://drill@${address}/ranksafe`, 2000);
    if (!refused) problems.push(`Postgres still answers at ${address}, the registry's DATABASE_URL`);
    else proofs.push(`the registry's database address ${address} refuses connections (${refused.split('\n')[0]})`);
    // A registry mutation fails cleanly: UNAVAILABLE, quickly (not a hang, not INTERNAL).
    const w = witnessOf(f);
    if (w) {
      const t = Date.now();
      try {
        await casWitness(deps, w, 'drill: a mutation while the database path is cut');
        problems.push('a registry mutation succeeded while its database path is cut');
      } catch (e) {
        const ms = Date.now() - t;
        const code = codeOf(e);
        if (code === 14) proofs.push(`a registry mutation failed cleanly in ${ms} ms: UNAVAILABLE (${firstLine(e)})`);
        else problems.push(`a registry mutation failed with ${code === undefined ? firstLine(e) : (codeName[code] ?? code)} in ${ms} ms, not UNAVAILABLE`);
      }
    }
    return problems.length ? { problem: problems.join('; ') } : { proof: proofs.join('; ') };
  },
  /** Detected when the registry itself reports it: its health (its own database check) NOT_SERVING. */
  async detect({ serving }, { instances }) {
    const incidents: DetectedIncident[] = [];
    for (const i of instances) {
      const h = await serving.health(i.address, 1000);
      if (h.status === 'NOT_SERVING')
        incidents.push({ id: `${i.name} health NOT_SERVING`, instance: i.name, state: 'NOT_SERVING', detectedAtUnixMs: Date.now() });
    }
    return { incidents, detectedAtUnixMs: incidents.length === instances.length ? Math.max(...incidents.map((x) => x.detectedAtUnixMs)) : undefined };
  },
  async notRestored(deps, { faults }) {
    const proxy = await deps.platform.get(REGISTRY_DB_PROXY).catch(() => undefined);
    if (proxy?.state !== 'running') return [`${REGISTRY_DB_PROXY} ${proxy?.state ?? 'unknown'}: the registry's database path is cut`];
    const out: string[] = [];
    for (const f of faults) {
      const w = witnessOf(f);
      if (!w) continue;
      try {
        await casWitness(deps, w, 'drill: a mutation after the database path returned');
      } catch (e) {
        const current = (e as { currentVersion?: string }).currentVersion;
        if (codeOf(e) === 10)
          out.push(`the mutation acknowledged before the cut is lost: ${w.model}@${w.alias} points at "${current ?? '?'}", acknowledged ${w.version}`);
        else out.push(`a registry mutation still fails: ${codeName[codeOf(e) ?? -1] ?? ''} ${firstLine(e)}`.trim());
      }
    }
    return out;
  },
  async revert({ platform }, f) {
    const name = storedExtra<{ proxy?: string }>(f)?.proxy ?? REGISTRY_DB_PROXY;
    const now = await platform.get(name).catch(() => undefined);
    if (now && now.state !== 'running') {
      await platform.start(name);
      return `${name} started again (it was ${now.state}): ${f.target}'s database path restored`;
    }
    return `${name} already running (pid ${now?.pid ?? '?'})`;
  },
};
