// Recovery's serving steps as activities: drain, wait until SERVING, verify with a real request,
// make sure it serves production. Each is idempotent; long ones heartbeat and honour cancellation.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Override, ServingControl } from './serving';
import { withHeartbeat } from './heartbeat';

export function createRecoveryActivities(deps: { serving: ServingControl }) {
  const { serving } = deps;
  return {
    /** Set (or clear) the replica's health override; an unreachable replica is reported, not an error. */
    async setReplicaHealth(input: { address: string; override: Override }): Promise<{ applied: boolean; detail: string }> {
      try {
        await serving.setHealthOverride(input.address, input.override);
        return { applied: true, detail: `health override ${input.override}` };
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code === 14 /* UNAVAILABLE */ || code === 4 /* DEADLINE_EXCEEDED */)
          return { applied: false, detail: `unreachable: ${(e as Error).message.split('\n')[0]}` };
        throw e;
      }
    },

    /** Wait until the replica's health is SERVING (it is NOT_SERVING until its model is warm). */
    async waitUntilServing(input: { address: string; timeoutMs: number; everyMs?: number }): Promise<{ waitedMs: number }> {
      const ctx = Context.current();
      const t0 = Date.now();
      for (;;) {
        const h = await serving.health(input.address, 1000);
        if (h.status === 'SERVING') return { waitedMs: Date.now() - t0 };
        if (Date.now() - t0 > input.timeoutMs) {
          throw ApplicationFailure.create({
            type: 'NotServing',
            nonRetryable: true,
            message: `${input.address} not SERVING after ${input.timeoutMs} ms (last: ${h.status}${h.detail ? `, ${h.detail}` : ''})`,
          });
        }
        ctx.heartbeat({ status: h.status });
        await ctx.sleep(input.everyMs ?? 100);
      }
    },

    /** Loading another version (and warming its cache) can take a while: heartbeat meanwhile. */
    async ensureProductionVersion(input: { tier: string; address: string }): Promise<{ version: string; loaded: boolean }> {
      return withHeartbeat(serving.ensureProduction(input.tier, input.address));
    },

    /** Health SERVING and one real request answered: the replica can take traffic again. */
    async verifyReplica(input: { tier: string; address: string; timeoutMs: number }): Promise<{ latencyMs: number; detail: string }> {
      const h = await serving.health(input.address, input.timeoutMs);
      if (h.status !== 'SERVING') throw new Error(`${input.address} health ${h.status}`);
      return serving.canaryQuery(input.tier, input.address, input.timeoutMs);
    },
  };
}
