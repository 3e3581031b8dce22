import { status } from '@grpc/grpc-js';
import { FaultKind, FaultSpec } from '@ranksafe/proto';
import { GrpcError } from './errors';
import { FaultInjector } from './faults';

const spec = (p: Partial<FaultSpec>) => FaultSpec.fromPartial(p);
const RANK = '/ranksafe.v1.Ranking/Rank';

describe('FaultInjector', () => {
  it('has no effect when nothing is injected', () => {
    expect(new FaultInjector().effectFor(RANK)).toEqual({ kind: 'none' });
  });

  it('applies a fault only to the methods it names', () => {
    const f = new FaultInjector();
    f.inject(spec({ kind: FaultKind.FAULT_KIND_LATENCY, latencyMs: 200, methods: [RANK] }));
    expect(f.effectFor(RANK)).toEqual({ kind: 'latency', ms: 200 });
    expect(f.effectFor('/ranksafe.v1.Ranking/Embed')).toEqual({ kind: 'none' });
  });

  it('fails calls with the requested status, UNAVAILABLE by default', () => {
    const f = new FaultInjector();
    f.inject(spec({ kind: FaultKind.FAULT_KIND_ERROR }));
    const e = f.effectFor(RANK);
    expect(e.kind).toBe('error');
    expect((e as { error: GrpcError }).error.code).toBe(status.UNAVAILABLE);
    f.clear();
    f.inject(spec({ kind: FaultKind.FAULT_KIND_ERROR, statusCode: status.RESOURCE_EXHAUSTED }));
    expect((f.effectFor(RANK) as { error: GrpcError }).error.code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it('honours probability', () => {
    let r = 0.7;
    const f = new FaultInjector(Date.now, () => r);
    f.inject(spec({ kind: FaultKind.FAULT_KIND_HANG, probability: 0.5 }));
    expect(f.effectFor(RANK).kind).toBe('none');
    r = 0.2;
    expect(f.effectFor(RANK).kind).toBe('hang');
  });

  it('expires faults after their ttl', () => {
    let now = 1000;
    const f = new FaultInjector(() => now);
    const fault = f.inject(spec({ kind: FaultKind.FAULT_KIND_HANG, ttlMs: 500 }));
    expect(fault.expiresAtUnixMs).toBe(1500);
    expect(f.list()).toHaveLength(1);
    now = 1500;
    expect(f.effectFor(RANK).kind).toBe('none');
    expect(f.list()).toHaveLength(0);
  });

  it('clears one fault by id or all of them', () => {
    const f = new FaultInjector();
    const a = f.inject(spec({ kind: FaultKind.FAULT_KIND_HANG }));
    f.inject(spec({ kind: FaultKind.FAULT_KIND_HANG }));
    expect(f.clear('nope')).toBe(0);
    expect(f.clear(a.id)).toBe(1);
    expect(f.clear()).toBe(1);
  });

  it.each([
    [spec({}), 'spec.kind'],
    [spec({ kind: FaultKind.FAULT_KIND_LATENCY }), 'spec.latency_ms'],
    [spec({ kind: FaultKind.FAULT_KIND_HANG, probability: 1.5 }), 'spec.probability'],
    [spec({ kind: FaultKind.FAULT_KIND_ERROR, statusCode: 99 }), 'spec.status_code'],
    [spec({ kind: FaultKind.FAULT_KIND_HANG, methods: ['Rank'] }), 'spec.methods'],
  ])('refuses a bad spec with INVALID_ARGUMENT naming the field (%#)', (s, field) => {
    try {
      new FaultInjector().inject(s);
      throw new Error('accepted');
    } catch (e) {
      expect((e as GrpcError).code).toBe(status.INVALID_ARGUMENT);
      expect((e as GrpcError).message.startsWith(field)).toBe(true);
    }
  });
});
