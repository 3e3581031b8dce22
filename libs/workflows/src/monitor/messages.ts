import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ProbeTarget } from '@ranksafe/activities';

export interface MonitorInput {
  /** ranking-service or retrieval-service. */
  tier: string;
  replicas: ProbeTarget[];
  /** Probe every replica this often (default 250 ms). */
  intervalMs?: number;
  /** Failed after this many failed probes in a row (default 3). */
  failureThreshold?: number;
  /** Deadline of one probe (default 1000 ms). */
  probeTimeoutMs?: number;
  /** Latency SLO of the real request (ms); 0 = off (default 0). */
  latencySloMs?: number;
  /** Start a Recovery for each incident (default true). */
  recover?: boolean;
  /** Carried over continue-as-new: planned drains (instance → until) and replicas being recovered. */
  planned?: Record<string, number>;
  recovering?: string[];
  incidents?: number;
}

export interface MonitorStatus {
  tier: string;
  probing: string[];
  planned: Record<string, number>;
  recovering: string[];
  incidents: number;
  lastIncident?: { id: string; instance: string; reason: string; detectedAtUnixMs: number; firstFailureAtUnixMs: number };
  probeRounds: number;
}

/** A planned NOT_SERVING (rollout drain, index reload) announced by the workflow that causes it: not an incident. */
export const announceDrainSignal = defineSignal<[{ instance: string; forMs: number; by?: string }]>('announceDrain');
export const endDrainSignal = defineSignal<[{ instance: string }]>('endDrain');
export const monitorStatusQuery = defineQuery<MonitorStatus>('status');
