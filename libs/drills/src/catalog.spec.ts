// The catalog's defaults merged with a person's overrides, validated, with every problem naming its field.
import { applySetting, CATALOG, DrillSpecError, resolveDrillSpec, SCENARIOS } from './catalog';
import { SCENARIO_NAMES } from './spec';

/** The DrillSpecError thrown by `f`, or a test failure. */
function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DrillSpecError);
    return (e as DrillSpecError).problems;
  }
  throw new Error('expected a DrillSpecError');
}

describe('resolveDrillSpec', () => {
  it('a scenario name alone gives its catalog defaults, the rest from the schema', () => {
    const spec = resolveDrillSpec({ scenario: 'ranking-replica-kill' });
    expect(spec).toEqual({
      scenario: 'ranking-replica-kill',
      target: { tier: 'ranking-service', instances: [], select: 'one' },
      fault: { kind: 'kill', latencyMs: 0, methods: [], ttlMs: 120_000 },
      steadyState: { windowMs: 5000, minRequests: 10, maxErrorRate: 0, maxDegradedShare: 0.05, maxP99Ms: 1500 },
      abort: { errorBudget: 0.05, minRequests: 20, p99CeilingMs: 5000, timeLimitMs: 90_000 },
      expect: { recovery: 'recovery-workflow', mttdTargetMs: 3000, rtoTargetMs: 15_000, maxFailedShare: 0, rpoTargetMs: 7_200_000 },
      load: { ratePerSec: 10, searchShare: 0.8, deadlineMs: 2000 },
      timing: { baselineMs: 6000, afterMs: 5000, holdMs: 0 },
      dryRun: false,
    });
  });

  it("merges each scenario's own defaults", () => {
    const latency = resolveDrillSpec({ scenario: 'ranking-replica-latency' });
    expect(latency.fault).toMatchObject({ kind: 'latency', latencyMs: 3000, methods: ['/ranksafe.v1.Ranking/Rank'] });
    expect(latency.expect).toMatchObject({ mttdTargetMs: 5000, rtoTargetMs: 20_000, maxFailedShare: 0.01 });
    const lost = resolveDrillSpec({ scenario: 'ranking-tier-lost' });
    expect(lost.target.select).toBe('all');
    expect(lost.abort).toMatchObject({ errorBudget: 0.02, timeLimitMs: 90_000 });
    const corrupt = resolveDrillSpec({ scenario: 'corrupted-artifact' });
    expect(corrupt.fault.kind).toBe('corrupt-artifact');
    expect(corrupt.target).toEqual({ tier: 'ranking-service', instances: [], select: 'one' });
    expect(corrupt.expect).toMatchObject({ recovery: 'fault-cleared', mttdTargetMs: 10_000, rtoTargetMs: 30_000, maxFailedShare: 0 });
    expect(corrupt.timing.holdMs).toBe(5000);
    const gpu = resolveDrillSpec({ scenario: 'gpu-unavailable' });
    expect(gpu.target).toEqual({ tier: 'ranking-service', instances: [], select: 'one' });
    expect(gpu.fault).toMatchObject({ kind: 'gpu-lost', ttlMs: 300_000 });
    expect(gpu.expect).toMatchObject({ recovery: 'none', mttdTargetMs: 15_000, rtoTargetMs: 30_000, maxFailedShare: 0 });
    expect(CATALOG['gpu-unavailable'].description).toContain('SIMULATED');
    const rec = resolveDrillSpec({ scenario: 'bad-recommender-rollout' });
    expect(rec.fault).toMatchObject({ kind: 'bad-rollout', rollout: { model: 'seqrec-demo', version: '', strategy: { qualityGate: { skip: false } } } });
    expect(rec.expect).toMatchObject({ recovery: 'rollback', maxFailedShare: 0 });
  });

  it('every scenario of the catalog resolves, under its own name', () => {
    expect(SCENARIOS.map((s) => s.name)).toEqual([...SCENARIO_NAMES]);
    for (const name of SCENARIO_NAMES) {
      expect(CATALOG[name].name).toBe(name);
      expect(resolveDrillSpec({ scenario: name }).scenario).toBe(name);
    }
  });

  it('an override replaces one field and keeps the defaults beside it', () => {
    const spec = resolveDrillSpec({ scenario: 'ranking-replica-kill', expect: { rtoTargetMs: 20_000 }, load: { ratePerSec: 25 }, dryRun: true });
    expect(spec.expect).toEqual({ recovery: 'recovery-workflow', mttdTargetMs: 3000, rtoTargetMs: 20_000, maxFailedShare: 0, rpoTargetMs: 7_200_000 });
    expect(spec.load).toEqual({ ratePerSec: 25, searchShare: 0.8, deadlineMs: 2000 });
    expect(spec.dryRun).toBe(true);
  });

  it('an override of a scenario default wins over it', () => {
    const spec = resolveDrillSpec({ scenario: 'ranking-replica-latency', fault: { latencyMs: 500 } });
    expect(spec.fault).toMatchObject({ kind: 'latency', latencyMs: 500, methods: ['/ranksafe.v1.Ranking/Rank'] });
  });

  it('does not change the catalog it merges from', () => {
    const before = JSON.stringify(CATALOG);
    resolveDrillSpec({ scenario: 'ranking-replica-kill', expect: { rtoTargetMs: 1 }, target: { instances: ['ranking-service-1'] } });
    expect(JSON.stringify(CATALOG)).toBe(before);
  });

  it('rejects an unknown top-level field, naming it', () => {
    expect(problemsOf(() => resolveDrillSpec({ scenario: 'ranking-replica-kill', faults: {} }))).toEqual(['unknown field "faults"']);
  });

  it('rejects an unknown nested field, naming its path', () => {
    const problems = problemsOf(() => resolveDrillSpec({ scenario: 'ranking-replica-kill', fault: { latncyMs: 100 } }));
    expect(problems.join('; ')).toMatch(/^fault: .*latncyMs/);
  });

  it('rejects an unknown or missing scenario, listing the known ones', () => {
    for (const input of [{ scenario: 'ranking-replica-explode' }, {}, { scenario: 3 }]) {
      const [p] = problemsOf(() => resolveDrillSpec(input));
      expect(p).toContain('scenario must be one of ranking-replica-kill, ranking-replica-latency');
    }
    expect(problemsOf(() => resolveDrillSpec({ scenario: 'ranking-replica-explode' }))[0]).toContain('"ranking-replica-explode"');
  });

  it('rejects input that is not an object', () => {
    for (const input of [null, 'ranking-replica-kill', [], 3]) expect(problemsOf(() => resolveDrillSpec(input))[0]).toMatch(/must be a JSON object/);
  });

  it('rejects a value of the wrong type, naming the field', () => {
    const [p] = problemsOf(() => resolveDrillSpec({ scenario: 'ranking-replica-kill', expect: { rtoTargetMs: '15s' } }));
    expect(p).toMatch(/^expect\.rtoTargetMs: /);
    const [q] = problemsOf(() => resolveDrillSpec({ scenario: 'ranking-replica-kill', load: { ratePerSec: 0 } }));
    expect(q).toMatch(/^load\.ratePerSec: /);
    const [r] = problemsOf(() => resolveDrillSpec({ scenario: 'ranking-replica-kill', target: { tier: 'gateway' } }));
    expect(r).toMatch(/^target\.tier: /);
    expect(problemsOf(() => resolveDrillSpec({ scenario: 'ranking-replica-kill', timing: 5 }))).toEqual(['timing must be an object']);
    expect(problemsOf(() => resolveDrillSpec({ scenario: 'ranking-replica-kill', dryRun: 'yes' }))[0]).toMatch(/^dryRun: /);
  });

  it('reports every problem of the input, not only the first', () => {
    const problems = problemsOf(() => resolveDrillSpec({ scenario: 'ranking-replica-kill', expect: { rtoTargetMs: -1 }, load: { searchShare: 2 } }));
    expect(problems).toHaveLength(2);
    expect(problems.some((p) => p.startsWith('expect.rtoTargetMs'))).toBe(true);
    expect(problems.some((p) => p.startsWith('load.searchShare'))).toBe(true);
  });

  it('rejects a baseline shorter than the steady-state window, naming both', () => {
    const problems = problemsOf(() => resolveDrillSpec({ scenario: 'ranking-replica-kill', timing: { baselineMs: 3000 } }));
    expect(problems).toEqual(['timing.baselineMs (3000) must be at least steadyState.windowMs (5000)']);
    const viaWindow = problemsOf(() => resolveDrillSpec({ scenario: 'ranking-replica-kill', steadyState: { windowMs: 10_000 } }));
    expect(viaWindow[0]).toContain('timing.baselineMs (6000) must be at least steadyState.windowMs (10000)');
    expect(resolveDrillSpec({ scenario: 'ranking-replica-kill', timing: { baselineMs: 5000 } }).timing.baselineMs).toBe(5000);
  });

  it('rejects a latency fault without latency', () => {
    expect(problemsOf(() => resolveDrillSpec({ scenario: 'ranking-replica-latency', fault: { latencyMs: 0 } }))).toEqual([
      'fault.latencyMs must be > 0 for a latency fault',
    ]);
  });
});

describe('applySetting', () => {
  it('sets a nested field, parsing numbers, booleans and JSON', () => {
    const input: Record<string, unknown> = { scenario: 'ranking-replica-latency' };
    applySetting(input, 'fault.latencyMs=500');
    applySetting(input, 'dryRun=true');
    applySetting(input, 'target.instances=["ranking-service-1"]');
    applySetting(input, 'load.ratePerSec=2.5');
    expect(input).toEqual({
      scenario: 'ranking-replica-latency',
      fault: { latencyMs: 500 },
      dryRun: true,
      target: { instances: ['ranking-service-1'] },
      load: { ratePerSec: 2.5 },
    });
    expect(resolveDrillSpec(input)).toMatchObject({ fault: { latencyMs: 500, kind: 'latency' }, dryRun: true, target: { instances: ['ranking-service-1'] } });
  });

  it('keeps a value that is not JSON as a string, and the text after the first = whole', () => {
    const input: Record<string, unknown> = {};
    applySetting(input, 'scenario=ranking-replica-kill');
    applySetting(input, 'fault.methods=a=b');
    expect(input).toEqual({ scenario: 'ranking-replica-kill', fault: { methods: 'a=b' } });
  });

  it('adds to an object already there and replaces a value that is not one', () => {
    const input: Record<string, unknown> = { expect: { rtoTargetMs: 1000 }, load: 5 };
    applySetting(input, 'expect.mttdTargetMs=200');
    applySetting(input, 'load.ratePerSec=3');
    expect(input).toEqual({ expect: { rtoTargetMs: 1000, mttdTargetMs: 200 }, load: { ratePerSec: 3 } });
  });

  it('returns the input it changed', () => {
    const input: Record<string, unknown> = {};
    expect(applySetting(input, 'dryRun=false')).toBe(input);
  });

  it('rejects a setting without key=value', () => {
    for (const s of ['fault.latencyMs', '=5', '']) expect(problemsOf(() => applySetting({}, s))[0]).toContain('--set takes key=value');
  });

  it('a wrong value set on the command line is caught by resolveDrillSpec, naming the field', () => {
    const input = applySetting({ scenario: 'ranking-replica-kill' }, 'abort.errorBudget=lots');
    expect(problemsOf(() => resolveDrillSpec(input))[0]).toMatch(/^abort\.errorBudget: /);
  });
});
