// The cold path as Prometheus metrics on the drill-worker's /metrics: open incidents, the
// registry's backups (newest verified snapshot, RPO age and target, the last backup run's
// outcome) and the state of every model's latest rollout. Nothing is kept up to date in the
// background: each scrape reads Postgres and the registry once, every read bounded by a short
// timeout. A read that fails or times out counts an error and leaves its gauges out of that
// answer ("unknown", so an alert on them goes quiet rather than wrong, and the error alert speaks)
// but never fails the scrape: the rest of /metrics, and the process's own metrics, still come through.
import type { Pool } from 'pg';
import { Counter, Gauge, type Registry } from 'prom-client';
import { countOpenIncidents, latestEndedOperation, latestOperationPerTarget, OPEN_INCIDENT_STATES } from '@ranksafe/db';
import type { SnapshotRegistry } from './snapshots';

/** The states a ModelRollout records in the operations log (kind 'rollout', target = model name). */
export const ROLLOUT_STATES = ['running', 'succeeded', 'rolled-back', 'frozen', 'failed'] as const;

/** What one scrape reads; each is a `source` of ranksafe_cold_path_collect_errors_total. */
export const COLD_PATH_SOURCES = ['incidents', 'snapshot_runs', 'snapshots', 'rollouts'] as const;
export type ColdPathSource = (typeof COLD_PATH_SOURCES)[number];

export interface ColdPathMetricsOptions {
  /** The ranksafe database (incidents, operations). Best a small pool of its own with a statement_timeout. */
  pool: Pool;
  /** Where the snapshots and the RPO come from (the RegistryClient has it). */
  registry: Pick<SnapshotRegistry, 'listSnapshots'>;
  /** The RPO objective (SNAPSHOT_RPO_TARGET_MS), exported beside the age so an alert can compare them. */
  rpoTargetMs: number;
  /** Longest a scrape waits for each read (default 2000 ms). */
  timeoutMs?: number;
  /** Told of every failed read (e.g. to log it). */
  onError?: (source: ColdPathSource, error: Error) => void;
}

export interface ColdPathMetrics {
  /** Read everything now and update the metrics (what a scrape does; several at once share one read). */
  refresh(): Promise<void>;
}

/** `p`, or a rejection after `ms`; the loser's outcome is ignored. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  p.catch(() => undefined); // a late rejection after the timeout is not unhandled
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Register the cold-path metrics on `register` (the process's ServiceMetrics registry). */
export function registerColdPathMetrics(register: Registry, o: ColdPathMetricsOptions): ColdPathMetrics {
  const timeoutMs = o.timeoutMs ?? 2000;
  let inflight: Promise<void> | undefined;
  const refresh = (): Promise<void> =>
    (inflight ??= collectAll().finally(() => {
      inflight = undefined;
    }));
  // Every metric of this module waits for the same read, so one scrape reads each source once
  // and sees all of it (errors included) in the same answer.
  const collect = async () => {
    await refresh();
  };
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name, help, labelNames: [...labelNames], registers: [register], collect });

  const incidentsOpen = gauge(
    'ranksafe_incidents_open',
    'Incidents that still need something done, by component and state (open, recovering, unrecovered); each instance counts by its newest incident',
    ['component', 'state'],
  );
  const lastVerified = gauge(
    'ranksafe_snapshot_last_verified_timestamp_seconds',
    'Point in time (unix seconds) held by the newest verified registry snapshot; 0 = none verified',
  );
  const rpoAge = gauge('ranksafe_snapshot_rpo_age_seconds', 'RPO now: age in seconds of the newest verified registry snapshot; -1 = none verified');
  const rpoTarget = gauge('ranksafe_snapshot_rpo_target_seconds', 'The RPO objective in seconds (SNAPSHOT_RPO_TARGET_MS)');
  const lastRunFailed = gauge(
    'ranksafe_snapshot_last_run_failed',
    '1 when the latest finished BackupSnapshot run failed (its snapshot could not be created or did not verify), else 0',
  );
  const lastRunEnded = gauge('ranksafe_snapshot_last_run_timestamp_seconds', 'When the latest finished BackupSnapshot run ended (unix seconds); 0 = none yet');
  const rolloutState = gauge('ranksafe_rollout_state', "Each model's latest rollout: 1 for its current state, 0 for the others", ['model', 'state']);
  const rolloutRunning = gauge('ranksafe_rollout_running', "1 while a model's latest rollout has not ended, else 0", ['model']);
  const sourceUp = gauge('ranksafe_cold_path_up', 'Whether the last scrape could read this source (1) or not (0)', ['source']);
  const collectSeconds = gauge('ranksafe_cold_path_collect_seconds', 'How long the last scrape took to read the cold-path sources');
  const errors = new Counter({
    name: 'ranksafe_cold_path_collect_errors_total',
    help: 'Reads of a cold-path source that failed or timed out during a scrape',
    labelNames: ['source'],
    registers: [register],
    collect,
  });
  for (const s of COLD_PATH_SOURCES) errors.inc({ source: s }, 0); // every series exists from the start, so increase() sees the first error
  rpoTarget.set(o.rpoTargetMs / 1000);

  const read = async (source: ColdPathSource, fn: (signal: AbortSignal) => Promise<void>, unknown: () => void) => {
    const ac = new AbortController();
    try {
      await within(fn(ac.signal), timeoutMs, source);
      sourceUp.set({ source }, 1);
    } catch (e) {
      ac.abort();
      unknown();
      errors.inc({ source });
      sourceUp.set({ source }, 0);
      o.onError?.(source, e instanceof Error ? e : new Error(String(e)));
    }
  };

  async function collectAll(): Promise<void> {
    const t0 = performance.now();
    await Promise.all([
      read(
        'incidents',
        async (signal) => {
          const rows = await countOpenIncidents(o.pool);
          if (signal.aborted) return; // too late: this scrape has already said "unknown"
          incidentsOpen.reset();
          for (const r of rows) for (const state of OPEN_INCIDENT_STATES) incidentsOpen.set({ component: r.component, state }, r.counts[state]);
        },
        () => incidentsOpen.reset(),
      ),
      read(
        'snapshot_runs',
        async (signal) => {
          const last = await latestEndedOperation(o.pool, 'snapshot');
          if (signal.aborted) return;
          lastRunFailed.set(last?.state === 'failed' ? 1 : 0);
          lastRunEnded.set(last ? last.endedAt.getTime() / 1000 : 0);
        },
        () => {
          lastRunFailed.remove();
          lastRunEnded.remove();
        },
      ),
      read(
        'snapshots',
        async (signal) => {
          const r = await o.registry.listSnapshots({ signal });
          if (signal.aborted) return;
          const rpoMs = Number(r.rpoMs);
          // The RPO is measured from the time a snapshot's data was read (its creation), as the registry does.
          const newest = r.snapshots.filter((s) => s.status === 'verified').reduce((m, s) => Math.max(m, Number(s.createdAtUnixMs)), 0);
          rpoAge.set(rpoMs < 0 ? -1 : rpoMs / 1000);
          lastVerified.set(rpoMs < 0 ? 0 : newest / 1000);
        },
        () => {
          rpoAge.remove();
          lastVerified.remove();
        },
      ),
      read(
        'rollouts',
        async (signal) => {
          const rows = await latestOperationPerTarget(o.pool, 'rollout');
          if (signal.aborted) return;
          rolloutState.reset();
          rolloutRunning.reset();
          for (const r of rows) {
            for (const state of new Set<string>([...ROLLOUT_STATES, r.state])) rolloutState.set({ model: r.target, state }, state === r.state ? 1 : 0);
            rolloutRunning.set({ model: r.target }, r.endedAt ? 0 : 1);
          }
        },
        () => {
          rolloutState.reset();
          rolloutRunning.reset();
        },
      ),
    ]);
    collectSeconds.set((performance.now() - t0) / 1000);
  }

  return { refresh };
}
