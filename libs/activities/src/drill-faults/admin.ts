// Added latency or a hang on some gRPC methods: the service's own Admin fault, living in its
// process with its own expiry; proven by a probe of that replica alone.
import type { FaultDriver } from './types';

const methodsOf = (methods: string[]) => methods.join(', ') || 'every method';

function adminFault(kind: 'latency' | 'hang'): FaultDriver {
  return {
    describe: (spec) => (kind === 'latency' ? `+${spec.fault.latencyMs} ms on ${methodsOf(spec.fault.methods)}` : `hang on ${methodsOf(spec.fault.methods)}`),
    reverts: (spec, instances) => instances.map((i) => `clear the ${kind} fault on ${i.name} (it also expires after ${spec.fault.ttlMs} ms)`),
    recorded: true,
    async inject({ serving }, { spec, instance }) {
      const t = Date.now();
      const f = await serving.injectFault(instance.address, { kind, latencyMs: spec.fault.latencyMs, methods: spec.fault.methods, ttlMs: spec.fault.ttlMs });
      return { injectedAtUnixMs: t, adminFaultId: f.id };
    },
    async prove({ serving }, { spec, fault: f, instance }) {
      if (kind === 'latency') {
        const want = spec.fault.latencyMs * 0.8;
        try {
          const q = await serving.canaryQuery(spec.target.tier, instance.address, spec.fault.latencyMs + 5000);
          if (q.latencyMs >= want) return { proof: `${f.instance} answered a probe in ${q.latencyMs} ms (fault +${spec.fault.latencyMs} ms)` };
          return {
            problem: `${f.instance} answered a probe in ${q.latencyMs} ms: the +${spec.fault.latencyMs} ms did not take (methods ${methodsOf(spec.fault.methods)})`,
          };
        } catch (e) {
          return { proof: `${f.instance} probe failed (${(e as Error).message.split('\n')[0]}): slower than its deadline` };
        }
      }
      try {
        const q = await serving.canaryQuery(spec.target.tier, instance.address, 1500);
        return { problem: `${f.instance} answered a probe in ${q.latencyMs} ms: the hang did not take` };
      } catch (e) {
        return { proof: `${f.instance} did not answer within 1.5 s (${(e as Error).message.split('\n')[0]})` };
      }
    },
    async revert({ serving }, f) {
      const address = String(f.detail?.['address'] ?? '');
      const adminFaultId = String(f.detail?.['adminFaultId'] ?? '');
      try {
        const r = await serving.clearFaults(address, adminFaultId || undefined);
        return `${f.kind} fault on ${f.target} cleared (${r.cleared})`;
      } catch (e) {
        // A replica restarted since has no fault left (faults live in its process).
        return `${f.target} unreachable to clear its ${f.kind} fault (${(e as Error).message.split('\n')[0]}); a restart cleared it, and it expires by itself`;
      }
    },
  };
}

export const latencyFault = adminFault('latency');
export const hangFault = adminFault('hang');
