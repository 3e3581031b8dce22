// The shipped Prometheus config and alert rules, checked and unit-tested by Debian's promtool
// (npm run setup installs the `prometheus` package; PROMTOOL overrides the binary).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { COLD_PATH_SOURCES, ROLLOUT_STATES } from '@ranksafe/activities';
import * as fs from 'node:fs';

const dir = __dirname;
const promtool = process.env['PROMTOOL'] ?? 'promtool';

function run(...args: string[]) {
  const r = spawnSync(promtool, args, { cwd: dir, encoding: 'utf8' });
  if (r.error) throw new Error(`${promtool} could not run (${r.error.message}); run \`npm run setup\`, which installs Debian's prometheus package`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('Prometheus alert rules (infra/prometheus)', () => {
  it('pass promtool check rules and check config', () => {
    const rules = run('check', 'rules', 'alerts.yml');
    expect(rules.out).toContain('SUCCESS');
    expect(rules.code).toBe(0);
    const config = run('check', 'config', 'prometheus.yml');
    expect(config.code).toBe(0);
  });

  it('fire as their unit tests expect (promtool test rules)', () => {
    const r = run('test', 'rules', 'alerts.test.yml');
    if (r.code !== 0) throw new Error(r.out);
    expect(r.out).toContain('SUCCESS');
  });

  it('alert on metric names and labels the drill-worker really exports', () => {
    const rules = fs.readFileSync(path.join(dir, 'alerts.yml'), 'utf8');
    const src = fs.readFileSync(path.join(dir, '../../libs/activities/src/cold-path-metrics.ts'), 'utf8');
    const used = new Set([...rules.matchAll(/\b(ranksafe_[a-z_]+)/g)].map((m) => m[1]));
    expect(used.size).toBeGreaterThan(4);
    for (const name of used) expect(src).toContain(`'${name}'`);
    expect(ROLLOUT_STATES).toContain('failed');
    expect(COLD_PATH_SOURCES).toContain('snapshots');
  });

  it('would catch a broken rule (promtool really checks)', () => {
    const broken = path.join(fs.mkdtempSync('/tmp/ranksafe-prom-'), 'broken.yml');
    fs.writeFileSync(broken, 'groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: sum by (a) (\n');
    expect(run('check', 'rules', broken).code).not.toBe(0);
  });
});
