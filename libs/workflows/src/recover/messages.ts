import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { TimelineEntry } from '../shared/operation';
import type { CompensationResult } from '../shared/saga';

/** What detection found; also the one JSON input of a Recovery started by hand from the UI. */
export interface Incident {
  /** Unique per incident; default `<instance>-<detectedAtUnixMs>`. */
  id?: string;
  instance: string;
  /** ranking-service or retrieval-service. */
  tier: string;
  /** host:port of its gRPC server. */
  address: string;
  reason?: string;
  firstFailureAtUnixMs?: number;
  detectedAtUnixMs?: number;
  /** The monitor to tell when the recovery ends (default `monitor-<tier>`). */
  monitorWorkflowId?: string;
  /** How long the restarted replica may take to become SERVING (default 90 s). */
  servingTimeoutMs?: number;
}

export interface RecoveryStatus {
  phase: string;
  incidentId: string;
  instance: string;
  outcome?: 'recovered' | 'unrecovered';
  timeline: TimelineEntry[];
  compensations: CompensationResult[];
  error?: string;
}

export interface RecoveryResult {
  incidentId: string;
  instance: string;
  outcome: 'recovered';
  restarted: boolean;
  version: string;
  detectedAtUnixMs: number;
  recoveredAtUnixMs: number;
  /** Detection → every step done and the replica re-admitted. */
  timeToRecoverMs: number;
  timeline: TimelineEntry[];
}

export const recoveryStatusQuery = defineQuery<RecoveryStatus>('status');

/** Sent by a Recovery to its monitor when it ends, so the monitor probes that replica again. */
export const recoveryFinishedSignal = defineSignal<[{ instance: string; incidentId: string; outcome: 'recovered' | 'unrecovered' }]>('recoveryFinished');
