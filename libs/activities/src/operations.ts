// The operations log in Postgres (libs/db): workflows record their runs, steps and incidents
// through these, so history survives Temporal's retention and drills can measure from it.
import type { Pool } from 'pg';
import { recordStep, upsertIncident, upsertOperation, type IncidentRecord, type OperationRecord, type StepRecord } from '@ranksafe/db';

export function createOperationActivities(deps: { pool: Pool }) {
  const { pool } = deps;
  return {
    async recordOperation(op: Omit<OperationRecord, 'startedAt' | 'endedAt'> & { startedAtUnixMs?: number; endedAtUnixMs?: number }): Promise<void> {
      const { startedAtUnixMs, endedAtUnixMs, ...rest } = op;
      await upsertOperation(pool, {
        ...rest,
        startedAt: startedAtUnixMs === undefined ? undefined : new Date(startedAtUnixMs),
        endedAt: endedAtUnixMs === undefined ? null : new Date(endedAtUnixMs),
      });
    },
    async recordStep(step: StepRecord): Promise<void> {
      await recordStep(pool, step);
    },
    async recordIncident(incident: IncidentRecord): Promise<void> {
      await upsertIncident(pool, incident);
    },
  };
}
