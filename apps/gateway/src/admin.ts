import type { GatewayAdminServer } from '@ranksafe/proto';
import { actorOf, failedPrecondition, unary, unavailable } from '@ranksafe/serving-kit';
import type { CanaryAnalyzer } from './canary';
import type { RoutingTable } from './routing';

/** ranksafe.v1.GatewayAdmin: the canary split (stored) and the per-variant analysis counters (this process). */
export function gatewayAdmin(routing: RoutingTable, analysis: CanaryAnalyzer, instance: string, defaultWeight: number): GatewayAdminServer {
  return {
    getRouting: unary(async () =>
      routing.refresh().catch((e: Error) => {
        throw unavailable(`cannot read the stored routing (${e.message}); in force here: revision ${routing.routing.revision}`);
      }),
    ),
    setRouting: unary(async (req, ctx) => {
      const r = await routing.set({
        modelName: req.modelName.trim(),
        canaryVersion: req.canaryVersion.trim(),
        canaryWeight: req.canaryWeight ?? (req.canaryVersion.trim() ? defaultWeight : 0),
        mirrorRate: req.mirrorRate,
        modelKind: req.modelKind,
        reason: req.reason,
        actor: actorOf(ctx),
        expectedRevision: req.expectedRevision,
      });
      if (req.resetAnalysis) analysis.reset();
      return r;
    }),
    getCanaryAnalysis: unary(async (req) => {
      if (req.epoch && req.epoch !== analysis.epoch) {
        throw failedPrecondition(
          `analysis epoch ${req.epoch} is over (now ${analysis.epoch}, since ${new Date(analysis.since).toISOString()}): its counters were reset or the gateway restarted`,
        );
      }
      return analysis.snapshot(routing.routing, instance);
    }),
    resetCanaryAnalysis: unary(async () => {
      analysis.reset();
      return analysis.snapshot(routing.routing, instance);
    }),
  };
}
