// A drill as a typed, validated document (the vocabulary of Chaos Toolkit and AWS FIS): which
// targets, which fault, the steady-state hypothesis with its tolerances, the stop (abort)
// conditions, the recovery it expects with its targets, time limits and the load profile.
// Workflow-safe: data and zod only, so the drill workflow validates its one JSON input itself.
import { z } from 'zod';

/** The scenarios of the catalog (catalog.ts has each one's defaults); more come as they are built. */
export const SCENARIO_NAMES = [
  'ranking-replica-kill',
  'ranking-replica-latency',
  'retrieval-replica-kill',
  'ranking-tier-lost',
  'worker-killed-mid-recovery',
  'temporal-restart',
  'backup-restore',
  'bad-model-rollout',
  'bad-recommender-rollout',
  'corrupted-artifact',
  'registry-db-unavailable',
  'gpu-unavailable',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export const TIERS = ['ranking-service', 'retrieval-service', 'model-registry'] as const;
export type Tier = (typeof TIERS)[number];

/**
 * What is injected. `kill`: SIGKILL through the Platform; `latency` / `hang`: the service's Admin
 * fault; `restore`: nothing is broken — the registry's newest verified snapshot is restored into a
 * sandbox database and verified (a backup drill: is the backup really a restore point, and how old);
 * `bad-rollout`: a ModelRollout of a known-bad candidate (`fault.rollout`), which the rollout's own
 * quality gate or canary analysis must catch and roll back;
 * `corrupt-artifact`: bytes of the production model's artifact changed in the registry's store and in
 * the target replica's registry cache (what refuses it, what flags it);
 * `db-cut`: the model-registry's path to Postgres cut (the Platform stops the TCP proxy the registry
 * alone reaches Postgres through; the Postgres everything else shares stays up);
 * `gpu-lost`: the ranking replica restarted through the Platform as a GPU replica whose GPU is gone
 * (cuda asked for, the cpu fall-back allowed, no device visible): it must come back serving on cpu.
 */
export const FAULT_KINDS = ['kill', 'latency', 'hang', 'restore', 'bad-rollout', 'corrupt-artifact', 'db-cut', 'gpu-lost'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * How the system is expected to come back: a Recovery workflow per incident, the drill clearing the
 * fault itself (after timing.holdMs), the system's own rollback (a rollout judging its candidate bad),
 * or nothing to come back from (a backup restore).
 */
export const RECOVERY_PATHS = ['recovery-workflow', 'fault-cleared', 'rollback', 'none'] as const;
export type RecoveryPath = (typeof RECOVERY_PATHS)[number];

const ms = (max: number) => z.number().int().min(0).max(max);
const share = z.number().min(0).max(1);

export const targetSchema = z
  .object({
    tier: z.enum(TIERS),
    /** Instance names; empty = chosen by `select` among the tier's running replicas. */
    instances: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/)).default([]),
    /** `one`: the tier's last replica; `all`: every replica (a tier lost). */
    select: z.enum(['one', 'all']).default('one'),
  })
  .strict();

export const faultSchema = z
  .object({
    kind: z.enum(FAULT_KINDS),
    /** Added latency for `latency` (ms). */
    latencyMs: ms(600_000).default(0),
    /** gRPC methods the Admin fault applies to (empty = all). */
    methods: z.array(z.string()).default([]),
    /** The fault clears itself after this long, whatever happens to the drill (and the reconciler clears it too). */
    ttlMs: ms(3_600_000).min(1000).default(120_000),
    /** For `bad-rollout`: what is rolled out, and how. */
    rollout: z
      .object({
        model: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/)
          .default('minilm-l6-v2'),
        /** The candidate version; empty = the model's `known-bad` alias in the registry (the embedded stack publishes the deliberately broken build under it). */
        version: z.string().max(128).default(''),
        /** The rollout's strategy (ModelRollout's input, validated by the rollout): e.g. `{"qualityGate": {"skip": true}}` so the canary analysis must catch it. */
        strategy: z.record(z.string(), z.unknown()).default({}),
      })
      .strict()
      .optional(),
  })
  .strict();

/** The steady-state hypothesis: what "healthy" means, checked before, during and after. */
export const steadyStateSchema = z
  .object({
    /** Window over which it is judged (ms of load). */
    windowMs: ms(600_000).min(1000).default(5000),
    /** At least this many requests answered in the window, else it is not judged (inconclusive = not steady). */
    minRequests: z.number().int().min(1).default(10),
    /** Share of failed requests tolerated in the window. */
    maxErrorRate: share.default(0),
    /** Share of degraded answers tolerated in the window. */
    maxDegradedShare: share.default(0.05),
    /** p99 of answered requests at most this (ms). */
    maxP99Ms: ms(600_000).default(1500),
  })
  .strict();

/** Stop conditions: crossing one reverts the fault and ends the drill as aborted. */
export const abortSchema = z
  .object({
    /** Failed requests (share of all sent since injection) that abort the drill. */
    errorBudget: share.default(0.05),
    /** Failed requests needed before the budget is judged (a single early failure is not a share). */
    minRequests: z.number().int().min(1).default(20),
    /** p99 of answered requests over the last 5 s above this aborts (ms). */
    p99CeilingMs: ms(600_000).default(5000),
    /** The drill's own time limit from injection (ms). */
    timeLimitMs: ms(3_600_000).min(1000).default(90_000),
  })
  .strict();

export const expectSchema = z
  .object({
    recovery: z.enum(RECOVERY_PATHS).default('recovery-workflow'),
    /** Injection → detection target (ms). */
    mttdTargetMs: ms(3_600_000).default(3000),
    /** Injection → steady state restored target (ms). */
    rtoTargetMs: ms(3_600_000).default(15_000),
    /** Failed requests tolerated overall for a pass (share of sent). */
    maxFailedShare: share.default(0),
    /** Age of the restored point a backup drill accepts (ms; the registry's RPO objective). */
    rpoTargetMs: ms(30 * 86_400_000).default(7_200_000),
  })
  .strict();

export const loadSchema = z
  .object({
    /** Open-loop arrivals per second through the gateway. */
    ratePerSec: z.number().min(0.1).max(1000).default(10),
    /** Share of Search among requests (the rest is Recommend). */
    searchShare: share.default(0.8),
    /** Per-request deadline (ms). */
    deadlineMs: ms(60_000).min(50).default(2000),
  })
  .strict();

export const timingSchema = z
  .object({
    /** Steady load before the injection (the "before" figures; at least the steady-state window). */
    baselineMs: ms(600_000).min(1000).default(6000),
    /** Load kept after steady state is restored (the "after" figures). */
    afterMs: ms(600_000).min(1000).default(5000),
    /** How long a fault that clears by itself stays injected (latency scenarios). */
    holdMs: ms(600_000).default(0),
  })
  .strict();

/**
 * A second crash while the first fault is being handled: what no workflow can bring back (the
 * drill-worker running the workflows, the Temporal server holding them), SIGKILLed and started
 * again by the Platform after `restartAfterMs`, as an orchestrator restarts a crashed pod.
 */
export const crashSchema = z
  .object({
    instance: z.enum(['drill-worker', 'temporal']),
    /** `recovering`: once a Recovery of the first fault is under way; `injected`: right after the first fault is proven. */
    when: z.enum(['injected', 'recovering']).default('recovering'),
    restartAfterMs: ms(600_000).min(100).default(2000),
  })
  .strict();

export const drillSpecSchema = z
  .object({
    scenario: z.enum(SCENARIO_NAMES),
    target: targetSchema,
    fault: faultSchema,
    steadyState: steadyStateSchema,
    abort: abortSchema,
    expect: expectSchema,
    load: loadSchema,
    timing: timingSchema,
    crash: crashSchema.optional(),
    /** Show the blast radius and what would be reverted; inject nothing. */
    dryRun: z.boolean().default(false),
  })
  .strict();

export type DrillSpec = z.infer<typeof drillSpecSchema>;
export type DrillTarget = DrillSpec['target'];
export type DrillFault = DrillSpec['fault'];
export type SteadyStateHypothesis = DrillSpec['steadyState'];
export type LoadProfile = DrillSpec['load'];
export type DrillCrash = NonNullable<DrillSpec['crash']>;

/** Parts of the spec that are left out unless the scenario or the input has them. */
export const OPTIONAL_SPEC_PARTS = ['crash'] as const;

/** What a person types: a scenario name and any field of the spec to override. */
export type DrillInput = { scenario: ScenarioName } & {
  [K in Exclude<keyof DrillSpec, 'scenario' | 'dryRun'>]?: Partial<NonNullable<DrillSpec[K]>>;
} & { dryRun?: boolean };
