// The scenario catalog: each scenario's title, what it rehearses, and its full default spec. A
// drill's input names a scenario and overrides any field; resolveDrillSpec merges and validates.
import { drillSpecSchema, OPTIONAL_SPEC_PARTS, SCENARIO_NAMES, type DrillInput, type DrillSpec, type ScenarioName } from './spec';

export interface Scenario {
  name: ScenarioName;
  title: string;
  /** What it rehearses and what passing means, for `ops drill list` and the report. */
  description: string;
  /** Everything but `scenario` and `dryRun`; zod fills what is left out from the schema's defaults. */
  defaults: Omit<DrillInput, 'scenario' | 'dryRun'>;
}

export const CATALOG: Record<ScenarioName, Scenario> = {
  'ranking-replica-kill': {
    name: 'ranking-replica-kill',
    title: 'Ranking replica SIGKILL',
    description:
      'kill -9 of one ranking replica under load: detection opens an incident, Recovery restarts it and loads production; clients see no error (the gateway retries on the other replica).',
    defaults: {
      target: { tier: 'ranking-service', select: 'one' },
      fault: { kind: 'kill' },
      expect: { recovery: 'recovery-workflow', mttdTargetMs: 3000, rtoTargetMs: 15_000, maxFailedShare: 0 },
    },
  },
  'ranking-replica-latency': {
    name: 'ranking-replica-latency',
    title: 'Ranking replica slow (added latency)',
    description:
      "3 s added to one ranking replica's Rank calls: detection's latency probe sees the SLO breach (MONITOR_LATENCY_SLO_MS, 2 s), the replica is drained and recovered (the restart clears the fault); clients are answered meanwhile (the other replica, or degraded within budget).",
    defaults: {
      target: { tier: 'ranking-service', select: 'one' },
      fault: { kind: 'latency', latencyMs: 3000, methods: ['/ranksafe.v1.Ranking/Rank'] },
      steadyState: { maxDegradedShare: 0.05 },
      expect: { recovery: 'recovery-workflow', mttdTargetMs: 5000, rtoTargetMs: 20_000, maxFailedShare: 0.01 },
    },
  },
  'retrieval-replica-kill': {
    name: 'retrieval-replica-kill',
    title: 'Retrieval replica SIGKILL',
    description: 'kill -9 of one retrieval replica under load: detected, recovered (index reloaded from the registry); clients see no error.',
    defaults: {
      target: { tier: 'retrieval-service', select: 'one' },
      fault: { kind: 'kill' },
      expect: { recovery: 'recovery-workflow', mttdTargetMs: 3000, rtoTargetMs: 20_000, maxFailedShare: 0 },
    },
  },
  'ranking-tier-lost': {
    name: 'ranking-tier-lost',
    title: 'Whole ranking tier lost',
    description:
      'kill -9 of every ranking replica: Search and Recommend degrade to retrieval order and never fail; every replica is detected and recovered, and answers stop being degraded.',
    defaults: {
      target: { tier: 'ranking-service', select: 'all' },
      fault: { kind: 'kill' },
      abort: { errorBudget: 0.02 },
      expect: { recovery: 'recovery-workflow', mttdTargetMs: 3000, rtoTargetMs: 30_000, maxFailedShare: 0 },
    },
  },
  'worker-killed-mid-recovery': {
    name: 'worker-killed-mid-recovery',
    title: 'Drill-worker killed mid-recovery',
    description:
      'kill -9 of a ranking replica, then kill -9 of the drill-worker while its Recovery runs (the Platform starts the worker again after 2 s): the Recovery resumes from its history and completes without repeating a completed step; clients see no error.',
    defaults: {
      target: { tier: 'ranking-service', select: 'one' },
      fault: { kind: 'kill' },
      crash: { instance: 'drill-worker', when: 'recovering', restartAfterMs: 2000 },
      expect: { recovery: 'recovery-workflow', mttdTargetMs: 3000, rtoTargetMs: 45_000, maxFailedShare: 0 },
      abort: { timeLimitMs: 150_000 },
    },
  },
  'temporal-restart': {
    name: 'temporal-restart',
    title: 'Temporal server restarted mid-drill',
    description:
      'kill -9 of a ranking replica, then kill -9 of the Temporal dev server while the Recovery runs (started again after 2 s from its file database): the monitor, the Recovery and this drill resume; the replica is recovered; clients see no error (serving does not depend on Temporal).',
    defaults: {
      target: { tier: 'ranking-service', select: 'one' },
      fault: { kind: 'kill' },
      crash: { instance: 'temporal', when: 'recovering', restartAfterMs: 2000 },
      expect: { recovery: 'recovery-workflow', mttdTargetMs: 3000, rtoTargetMs: 60_000, maxFailedShare: 0 },
      abort: { timeLimitMs: 180_000 },
    },
  },
  'backup-restore': {
    name: 'backup-restore',
    title: 'Backup restore',
    description:
      "the registry's newest verified snapshot restored into a sandbox database and verified (rows, artifacts, hashes) while serving goes on: passes when the restore verifies within its RTO target and the restored point is younger than the RPO target; reports the RPO.",
    defaults: {
      target: { tier: 'model-registry', select: 'one' },
      fault: { kind: 'restore' },
      expect: { recovery: 'none', rtoTargetMs: 30_000, rpoTargetMs: 7_200_000, maxFailedShare: 0 },
    },
  },
  'bad-model-rollout': {
    name: 'bad-model-rollout',
    title: 'Bad model rollout',
    description:
      "a ModelRollout of the registry's known-bad candidate (the deliberately broken build, alias known-bad) that skips the quality gate, so the canary analysis must catch it (score drift, top-10 overlap against mirrored production answers) and roll it back: MTTD = rollout start → failed verdict, RTO = → rolled back (traffic, alias and every replica's default back on production); clients see no error, the bad model answers only at the canary share. With fault.rollout.strategy.qualityGate.skip false the gate must refuse it before it answers anything.",
    defaults: {
      target: { tier: 'ranking-service', select: 'all' },
      fault: {
        kind: 'bad-rollout',
        rollout: {
          model: 'minilm-l6-v2',
          version: '',
          // Short analysis windows (a drill wants its verdict in seconds); the ML checks are as shipped.
          strategy: {
            qualityGate: { skip: true },
            snapshot: false,
            analysis: {
              windowMs: 8000,
              intervalMs: 2000,
              warmupMs: 2500,
              minRequests: 10,
              minMirrored: 5,
              p99SlackMs: 250,
              maxP99Ratio: 4,
              maxErrorRate: 0.05,
            },
          },
        },
      },
      steadyState: { maxDegradedShare: 0.05 },
      expect: { recovery: 'rollback', mttdTargetMs: 20_000, rtoTargetMs: 40_000, maxFailedShare: 0 },
      abort: { timeLimitMs: 150_000 },
    },
  },
  'bad-recommender-rollout': {
    name: 'bad-recommender-rollout',
    title: 'Bad sequential-recommender rollout',
    description:
      "a ModelRollout of the sequential recommender's known-bad candidate (seqrec-demo's untrained twin, alias known-bad, which npm start publishes) through the quality gate: the gate's next-item NDCG@10 over held-out histories must refuse it before it answers a single Recommend (a recommender's canary judges errors and latency only: its answers have no mirror to compare), and the rollout rolls back: MTTD = rollout start → refused, RTO = → rolled back (alias and every replica's default on production); clients see no error.",
    defaults: {
      target: { tier: 'ranking-service', select: 'all' },
      fault: {
        kind: 'bad-rollout',
        rollout: { model: 'seqrec-demo', version: '', strategy: { qualityGate: { skip: false }, snapshot: false } },
      },
      steadyState: { maxDegradedShare: 0.05 },
      expect: { recovery: 'rollback', mttdTargetMs: 20_000, rtoTargetMs: 30_000, maxFailedShare: 0 },
      abort: { timeLimitMs: 120_000 },
    },
  },
  'corrupted-artifact': {
    name: 'corrupted-artifact',
    title: 'Corrupted model artifact',
    description:
      "16 bytes of the production model's artifact inverted in the registry's store and in one ranking replica's registry cache: that replica's reload refuses it with DATA_LOSS and it keeps serving the model it holds, a fresh download is refused (DATA_LOSS), and the registry's scrub (VerifyArtifacts) flags the artifact; held 5 s, then the original bytes are put back and the replica reloads it; clients see no error.",
    defaults: {
      target: { tier: 'ranking-service', select: 'one' },
      fault: { kind: 'corrupt-artifact' },
      timing: { holdMs: 5000 },
      expect: { recovery: 'fault-cleared', mttdTargetMs: 10_000, rtoTargetMs: 30_000, maxFailedShare: 0 },
    },
  },
  'registry-db-unavailable': {
    name: 'registry-db-unavailable',
    title: 'Registry database unavailable',
    description:
      "the model-registry's path to Postgres cut for 10 s (its database proxy stopped through the Platform: connections refused, pooled ones reset; the shared Postgres stays up): Search and Recommend keep answering from the loaded models, the registry reports NOT_SERVING (detection) and fails mutations fast with UNAVAILABLE; the path restored, the registry is SERVING again, a mutation succeeds and the one acknowledged before the cut is still there.",
    defaults: {
      target: { tier: 'model-registry', select: 'one' },
      fault: { kind: 'db-cut', ttlMs: 120_000 },
      timing: { holdMs: 10_000 },
      expect: { recovery: 'fault-cleared', mttdTargetMs: 3000, rtoTargetMs: 30_000, maxFailedShare: 0 },
    },
  },
  'gpu-unavailable': {
    name: 'gpu-unavailable',
    title: 'GPU unavailable: ranking on the CPU fall-back',
    description:
      'one ranking replica restarted through the Platform as a GPU replica whose GPU is gone (RANKING_EXECUTION_PROVIDER=cuda, RANKING_CUDA_FALLBACK=cpu, CUDA_VISIBLE_DEVICES=""; SIMULATED: the stack\'s replicas are cpu replicas, and where onnxruntime-node has no CUDA binaries cuda is missing anyway): the replica itself reports it runs on cpu with cuda requested (ListModels, /metrics), it comes back SERVING on the fall-back and in the gateway\'s rotation (any incident the monitor opened for the restart recovered); clients see no error; the revert restarts it with its normal config.',
    defaults: {
      target: { tier: 'ranking-service', select: 'one' },
      fault: { kind: 'gpu-lost', ttlMs: 300_000 },
      abort: { timeLimitMs: 120_000 },
      expect: { recovery: 'none', mttdTargetMs: 15_000, rtoTargetMs: 30_000, maxFailedShare: 0 },
    },
  },
};

export const SCENARIOS: Scenario[] = SCENARIO_NAMES.map((n) => CATALOG[n]);

export class DrillSpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid drill input: ${problems.join('; ')}`);
    this.name = 'DrillSpecError';
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `o` over `d`, objects merged field by field at every depth (arrays and other values replaced). */
function deepMerge(d: Record<string, unknown>, o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...d };
  for (const [k, v] of Object.entries(o)) out[k] = isObject(v) && isObject(d[k]) ? deepMerge(d[k] as Record<string, unknown>, v) : v;
  return out;
}

/** The scenario's defaults, overridden field by field (at any depth) by the input, validated. Throws DrillSpecError. */
export function resolveDrillSpec(input: unknown): DrillSpec {
  if (!isObject(input)) throw new DrillSpecError(['input must be a JSON object like {"scenario": "ranking-replica-kill"}']);
  const scenario = input['scenario'];
  if (typeof scenario !== 'string' || !(SCENARIO_NAMES as readonly string[]).includes(scenario))
    throw new DrillSpecError([`scenario must be one of ${SCENARIO_NAMES.join(', ')} (got ${JSON.stringify(scenario)})`]);
  const defaults = CATALOG[scenario as ScenarioName].defaults as Record<string, unknown>;
  const merged: Record<string, unknown> = { scenario };
  for (const key of Object.keys(drillSpecSchema.shape)) {
    if (key === 'scenario') continue;
    const d = defaults[key];
    const o = input[key];
    if (o !== undefined && key !== 'dryRun' && !isObject(o)) throw new DrillSpecError([`${key} must be an object`]);
    if ((OPTIONAL_SPEC_PARTS as readonly string[]).includes(key) && d === undefined && o === undefined) continue;
    merged[key] = key === 'dryRun' ? o : deepMerge(isObject(d) ? d : {}, isObject(o) ? o : {});
  }
  for (const k of Object.keys(input)) if (!(k in drillSpecSchema.shape)) throw new DrillSpecError([`unknown field "${k}"`]);
  const r = drillSpecSchema.safeParse(merged);
  if (!r.success) throw new DrillSpecError(r.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`));
  const spec = r.data;
  if (spec.fault.kind === 'latency' && spec.fault.latencyMs <= 0) throw new DrillSpecError(['fault.latencyMs must be > 0 for a latency fault']);
  if (spec.fault.kind === 'bad-rollout' && (!spec.fault.rollout || spec.target.tier !== 'ranking-service'))
    throw new DrillSpecError(['a bad-rollout fault needs fault.rollout {model, version, strategy} and target.tier ranking-service']);
  if (spec.timing.baselineMs < spec.steadyState.windowMs)
    throw new DrillSpecError([`timing.baselineMs (${spec.timing.baselineMs}) must be at least steadyState.windowMs (${spec.steadyState.windowMs})`]);
  return spec;
}

/** `--set fault.latencyMs=500` → { fault: { latencyMs: 500 } } (numbers, booleans and JSON parsed). */
export function applySetting(input: Record<string, unknown>, setting: string): Record<string, unknown> {
  const eq = setting.indexOf('=');
  if (eq <= 0) throw new DrillSpecError([`--set takes key=value (got "${setting}")`]);
  const keys = setting.slice(0, eq).split('.');
  const raw = setting.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    /* a plain string */
  }
  let at: Record<string, unknown> = input;
  for (const k of keys.slice(0, -1)) at = (at[k] = isObject(at[k]) ? at[k] : {}) as Record<string, unknown>;
  at[keys[keys.length - 1]!] = value;
  return input;
}
