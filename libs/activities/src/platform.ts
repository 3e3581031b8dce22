// Replicas through the Platform port (embedded: the npm start supervisor's ranksafe.v1.Platform;
// later Kubernetes). Idempotent: a retried restart after a worker crash does not restart twice.
import { withHeartbeat } from './heartbeat';
import type { ReplicaInfo, ReplicaPlatform } from '@ranksafe/platform';

export interface InstanceSummary {
  name: string;
  component: string;
  address?: string;
  pid: number;
  state: string;
  startedAtUnixMs: number;
  restarts: number;
}

const summary = (r: ReplicaInfo): InstanceSummary => ({
  name: r.name,
  component: r.component,
  address: r.address,
  pid: r.pid,
  state: r.state,
  startedAtUnixMs: r.startedAt.getTime(),
  restarts: r.restarts,
});

export function createPlatformActivities(deps: { platform: ReplicaPlatform }) {
  const { platform } = deps;
  return {
    async getInstance(input: { name: string }): Promise<InstanceSummary> {
      return summary(await platform.get(input.name));
    },

    /**
     * Bring `name` back with a fresh process. When a process that started after `sinceUnixMs`
     * is already running (the platform's restart policy did it, or an earlier attempt of this
     * activity did), nothing is restarted: `restarted` is false.
     */
    async restartInstance(input: { name: string; sinceUnixMs: number; graceMs?: number }): Promise<{ restarted: boolean; instance: InstanceSummary }> {
      const now = await platform.get(input.name);
      if (now.state === 'running' && now.startedAt.getTime() >= input.sinceUnixMs) return { restarted: false, instance: summary(now) };
      const r = await withHeartbeat(
        now.state === 'running' ? platform.restart(input.name, { graceMs: input.graceMs ?? 2000 }) : platform.start(input.name),
        2000,
        { restarting: input.name },
      );
      return { restarted: true, instance: summary(r) };
    },

    /** A drill's crash: SIGKILL (or another signal). */
    async killInstance(input: { name: string; signal?: string }): Promise<InstanceSummary> {
      return summary(await platform.kill(input.name, input.signal ?? 'SIGKILL'));
    },
  };
}
