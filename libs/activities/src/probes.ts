// Failure detection's probe: ONE long-lived, heartbeating activity per tier that probes every
// replica each interval (grpc.health.v1 + a real request) and returns only when a replica has
// failed N times in a row or broken its latency SLO, or after maxDurationMs — so sub-second
// probing writes no history per probe. Cancel it (the monitor does on a planned drain) and it stops.
import { Context } from '@temporalio/activity';
import type { ServingControl } from './serving';

export interface ProbeTarget {
  instance: string;
  address: string;
}

export interface ProbeInput {
  tier: string;
  replicas: ProbeTarget[];
  intervalMs: number;
  failureThreshold: number;
  probeTimeoutMs: number;
  /** Latency SLO of the real request in ms; 0 = only health and errors count. */
  latencySloMs: number;
  /** Return (with no failure) after this long so the workflow can look at its state. */
  maxDurationMs: number;
}

export interface ProbeFailure {
  instance: string;
  address: string;
  reason: string;
  consecutive: number;
  firstFailureAtUnixMs: number;
  detectedAtUnixMs: number;
}

export interface ProbeResult {
  failure?: ProbeFailure;
  rounds: number;
}

/** One probe of one replica: health must be SERVING and the real request answer within the SLO. */
export async function probeOnce(serving: ServingControl, tier: string, t: ProbeTarget, timeoutMs: number, sloMs: number): Promise<string | undefined> {
  const h = await serving.health(t.address, timeoutMs);
  if (h.status !== 'SERVING') return `health ${h.status}${h.detail ? ` (${h.detail})` : ''}`;
  try {
    // The request's deadline is the SLO itself: a slow replica fails its probe at the SLO, not
    // after however long it takes (a +3 s replica took three 3 s probes, 15 s, to be detected).
    const { latencyMs } = await serving.canaryQuery(tier, t.address, sloMs > 0 ? sloMs : timeoutMs);
    if (sloMs > 0 && latencyMs > sloMs) return `latency ${latencyMs} ms > SLO ${sloMs} ms`;
  } catch (e) {
    if (sloMs > 0 && (e as { code?: number }).code === 4) return `latency > SLO ${sloMs} ms (deadline exceeded)`;
    return `request failed: ${(e as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

export function createProbeActivities(deps: { serving: ServingControl }) {
  return {
    async probeUntilFailure(input: ProbeInput): Promise<ProbeResult> {
      const ctx = Context.current();
      // Resume the streak counts a previous attempt heartbeated (a worker crash mid-probe).
      const resumed = (ctx.info.heartbeatDetails as { streaks?: Record<string, { n: number; first: number }> } | undefined)?.streaks ?? {};
      const streaks = new Map<string, { n: number; first: number }>(Object.entries(resumed));
      const until = Date.now() + input.maxDurationMs;
      let rounds = 0;
      while (Date.now() < until) {
        const t0 = Date.now();
        const results = await Promise.all(
          input.replicas.map(async (r) => ({ r, why: await probeOnce(deps.serving, input.tier, r, input.probeTimeoutMs, input.latencySloMs) })),
        );
        rounds++;
        for (const { r, why } of results) {
          if (!why) {
            streaks.delete(r.instance);
            continue;
          }
          const s = streaks.get(r.instance) ?? { n: 0, first: t0 };
          s.n++;
          streaks.set(r.instance, s);
          if (s.n >= input.failureThreshold) {
            return {
              rounds,
              failure: { instance: r.instance, address: r.address, reason: why, consecutive: s.n, firstFailureAtUnixMs: s.first, detectedAtUnixMs: Date.now() },
            };
          }
        }
        ctx.heartbeat({ rounds, streaks: Object.fromEntries(streaks) });
        await ctx.sleep(Math.max(0, input.intervalMs - (Date.now() - t0)));
      }
      return { rounds };
    },
  };
}
