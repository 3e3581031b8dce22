import { defineQuery } from '@temporalio/workflow';
import type { TimelineEntry } from '../shared/operation';

export interface BackupSnapshotInput {
  /** Snapshot label; default: the workflow id (unique per scheduled run, stable across retries). */
  label?: string;
  /** Verify by restoring into a scratch database (default true). */
  verify?: boolean;
  /** RPO objective in ms; the result says whether it is met after this run (default 24 h). */
  rpoTargetMs?: number;
}

export interface BackupSnapshotStatus {
  phase: 'starting' | 'creating' | 'verifying' | 'measuring' | 'done' | 'failed';
  snapshotId?: string;
  rpoMs?: number;
  error?: string;
  timeline: TimelineEntry[];
}

export interface BackupSnapshotResult {
  snapshotId: string;
  label: string;
  verified: boolean;
  rows: number;
  artifacts: number;
  bytes: number;
  /** Age of the newest verified snapshot after this run (-1 = none verified). */
  rpoMs: number;
  rpoTargetMs: number;
  rpoMet: boolean;
  durationMs: number;
}

export const backupSnapshotStatusQuery = defineQuery<BackupSnapshotStatus>('status');
