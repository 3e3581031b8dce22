import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fmtAge, table } from './cli';
import { parseKind, parseMetric } from './commands/model';
import { rpoLine } from './commands/snapshot';

describe('ops output helpers', () => {
  it('aligns tables and leaves the last column unpadded', () => {
    expect(
      table(
        ['A', 'BB'],
        [
          ['xyz', '1'],
          ['w', '22'],
        ],
      ).split('\n'),
    ).toEqual(['A    BB', '---  --', 'xyz  1', 'w    22']);
  });

  it('writes ages the way a person reads them', () => {
    expect([fmtAge(42_000), fmtAge(192_000), fmtAge(7_500_000), fmtAge(3 * 86_400_000 + 4 * 3_600_000), fmtAge(-5)]).toEqual([
      '42s',
      '3m 12s',
      '2h 5m',
      '3d 4h',
      '0s',
    ]);
  });

  it('says the RPO from the newest verified snapshot, or that there is none', () => {
    const snaps = [
      { id: 'a', status: 'verified', createdAtUnixMs: 1 },
      { id: 'b', status: 'verified', createdAtUnixMs: 3 },
      { id: 'c', status: 'unverified', createdAtUnixMs: 5 },
    ];
    expect(rpoLine(snaps, 65_000)).toBe('RPO: 1m 5s (newest verified b)');
    expect(rpoLine(snaps.slice(2), -1)).toBe('RPO: no verified snapshot');
  });

  it('parses --metric and --kind, refusing what is not a number or a kind', () => {
    expect(parseMetric('mrr=0.5', parseMetric('ndcg10=0.68'))).toEqual({ ndcg10: 0.68, mrr: 0.5 });
    expect(() => parseMetric('ndcg10=high')).toThrow(/key=number/);
    expect(parseKind('catalog-index')).toBe('catalog-index');
    expect(() => parseKind('gbdt')).toThrow(/bi-encoder/);
  });
});

describe('ops main', () => {
  it('wires every command group', () => {
    const root = path.resolve(__dirname, '../../..');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'apps/ops/src/main.ts', '--help'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    const commands = [...r.stdout.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]);
    expect(commands).toEqual([
      'status',
      'ping-workflow',
      'events',
      'search',
      'recommend',
      'index',
      'model',
      'snapshot',
      'incidents',
      'recover',
      'monitor',
      'rollout',
      'drill',
      'help',
    ]);
  }, 60_000);
});
