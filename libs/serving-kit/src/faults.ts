import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { FaultKind, type Fault, type FaultSpec } from '@ranksafe/proto';
import { GrpcError, invalidArgument } from './errors';

/** What the server wrapper must do to a call because of an injected fault. */
export type FaultEffect = { kind: 'none' } | { kind: 'latency'; ms: number } | { kind: 'error'; error: GrpcError } | { kind: 'hang' };

/**
 * Faults injected into this process through the Admin service. Admin methods themselves are
 * never affected, so a drill can always clear what it injected.
 */
export class FaultInjector {
  private faults = new Map<string, Fault>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  inject(spec: FaultSpec | undefined): Fault {
    if (!spec || spec.kind === FaultKind.FAULT_KIND_UNSPECIFIED) {
      throw invalidArgument('spec.kind', 'must be LATENCY, ERROR or HANG');
    }
    if (!(spec.kind in FaultKind) || spec.kind < 0) throw invalidArgument('spec.kind', `unknown fault kind ${spec.kind}`);
    if (spec.kind === FaultKind.FAULT_KIND_LATENCY && (spec.latencyMs <= 0 || spec.latencyMs > 600_000)) {
      throw invalidArgument('spec.latency_ms', 'must be in 1..600000 for a LATENCY fault');
    }
    if (spec.probability < 0 || spec.probability > 1) {
      throw invalidArgument('spec.probability', 'must be in (0, 1] (0 means 1)');
    }
    if (spec.kind === FaultKind.FAULT_KIND_ERROR && spec.statusCode > 16) {
      throw invalidArgument('spec.status_code', 'must be a gRPC status code 1..16 (0 means UNAVAILABLE)');
    }
    for (const m of spec.methods) {
      if (!/^\/[\w.]+\/\w+$/.test(m)) throw invalidArgument('spec.methods', `"${m}" is not a full method name like /ranksafe.v1.Ranking/Rank`);
    }
    const created = this.now();
    const fault: Fault = {
      id: randomUUID(),
      spec: { ...spec, methods: [...spec.methods] },
      createdAtUnixMs: created,
      expiresAtUnixMs: spec.ttlMs > 0 ? created + spec.ttlMs : 0,
    };
    this.faults.set(fault.id, fault);
    return fault;
  }

  clear(id?: string): number {
    if (!id) {
      const n = this.faults.size;
      this.faults.clear();
      return n;
    }
    return this.faults.delete(id) ? 1 : 0;
  }

  list(): Fault[] {
    this.expire();
    return [...this.faults.values()];
  }

  /** The effect on a call to `method`; the first matching fault wins. */
  effectFor(method: string): FaultEffect {
    if (this.faults.size === 0) return { kind: 'none' };
    this.expire();
    for (const f of this.faults.values()) {
      const spec = f.spec!;
      if (spec.methods.length > 0 && !spec.methods.includes(method)) continue;
      const p = spec.probability === 0 ? 1 : spec.probability;
      if (p < 1 && this.random() >= p) continue;
      switch (spec.kind) {
        case FaultKind.FAULT_KIND_LATENCY:
          return { kind: 'latency', ms: spec.latencyMs };
        case FaultKind.FAULT_KIND_ERROR: {
          const code = spec.statusCode || status.UNAVAILABLE;
          return { kind: 'error', error: new GrpcError(code, `injected fault ${f.id}`) };
        }
        case FaultKind.FAULT_KIND_HANG:
          return { kind: 'hang' };
      }
    }
    return { kind: 'none' };
  }

  private expire(): void {
    const now = this.now();
    for (const [id, f] of this.faults) if (f.expiresAtUnixMs > 0 && f.expiresAtUnixMs <= now) this.faults.delete(id);
  }
}
