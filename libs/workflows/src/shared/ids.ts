// Readable workflow ids. They also enforce one-at-a-time: Temporal allows one open execution per
// id, so a second recovery of the same replica (or rollout of the same model) is refused while one
// runs, and the id-reuse policy lets a new run start once the last one closed.

export const TASK_QUEUE_DEFAULT = 'ranksafe-drills';

export const ids = {
  recovery: (instance: string) => `recover-${instance}`,
  monitor: (tier: string) => `monitor-${tier}`,
  rollout: (model: string) => `rollout-${model}`,
  snapshotSchedule: 'backup-snapshot',
  /** One manual snapshot run, e.g. from `ops snapshot run`. */
  snapshotRun: (atUnixMs: number) => `backup-snapshot-manual-${new Date(atUnixMs).toISOString().replace(/[:.]/g, '-')}`,
  /** A drill run: `drill-<scenario>-<UTC time, seconds>`, e.g. drill-ranking-replica-kill-20261202T071500Z. */
  drill: (scenario: string, atUnixMs: number) => `drill-${scenario}-${new Date(atUnixMs).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')}`,
};
