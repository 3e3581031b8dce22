// What the agent sends: queries and Recommend subjects from a catalog index dir, a queries file, or the fallbacks.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RecommendSubjects } from './gateway';
import { BUILTIN_QUERIES, FALLBACK_PRODUCT_IDS, loadWorkload, readQueriesFile, resolveIndexDir } from './workload';

describe('the workload', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-load-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** An index root as tools/data/build-index.ts lays it out: <root>/CURRENT → <root>/<version>/. */
  function index(opts: { judged?: boolean; users?: boolean; name?: string } = {}) {
    const root = path.join(dir, opts.name ?? 'idx');
    const v = path.join(root, 'idx-abc');
    fs.mkdirSync(v, { recursive: true });
    fs.writeFileSync(path.join(root, 'CURRENT'), 'idx-abc\n');
    fs.writeFileSync(path.join(v, 'manifest.json'), '{}');
    if (opts.judged !== false) {
      fs.writeFileSync(
        path.join(v, 'judged-queries.json'),
        JSON.stringify({
          format: 'ranksafe.judged-queries/v1',
          source: 'test',
          queries: [
            { id: 'q1', query: 'red bbq', candidates: ['p000001', 'p000002'], grades: { p000001: 2 } },
            { id: 'q2', query: 'blue lamp ', candidates: ['p000002', 'p000003'], grades: {} },
          ],
        }),
      );
    }
    if (opts.users !== false) {
      fs.writeFileSync(
        path.join(v, 'users.jsonl'),
        [
          '{"userId":"u1","items":[{"id":"p000001","rating":5,"ts":1}]}',
          '{"userId":"u2","items":[]}',
          '{"userId":"u3","items":[{"id":"p000002","rating":1,"ts":2}]}',
          '',
        ].join('\n'),
      );
    }
    return { root, version: v };
  }

  it('reads WANDS-style TSV (the query column) and plain one-a-line files', () => {
    const tsv = path.join(dir, 'query.csv');
    fs.writeFileSync(tsv, 'query_id\tquery\tquery_class\n0\tsalon chair\tMassage Chairs\n1\tsmart coffee table\tTables\n2\tsalon chair\tdup\n');
    expect(readQueriesFile(tsv)).toEqual(['salon chair', 'smart coffee table']);
    const plain = path.join(dir, 'q.txt');
    fs.writeFileSync(plain, 'shoes\n\n  socks \r\n');
    expect(readQueriesFile(plain)).toEqual(['shoes', 'socks']);
  });

  it('takes the catalog index’s judged queries, users with interactions and known products (CURRENT or a version dir)', () => {
    const { root, version } = index();
    expect(resolveIndexDir(root)).toBe(version);
    expect(resolveIndexDir(version)).toBe(version);
    const w = loadWorkload({ catalogDir: root });
    expect(w.queries).toEqual(['red bbq', 'blue lamp']);
    expect(w.userIds).toEqual(['u1', 'u3']);
    expect(w.productIds).toEqual(['p000001', 'p000002', 'p000003']);
    expect(w.sources.queries).toMatch(/judged-queries\.json \(2\)$/);
  });

  it('prefers an explicit queries file, then the catalog, then the default file, then the built-in list', () => {
    const { root } = index();
    const file = path.join(dir, 'mine.txt');
    fs.writeFileSync(file, 'only this\n');
    const dflt = path.join(dir, 'default.csv');
    fs.writeFileSync(dflt, 'query_id\tquery\tquery_class\n0\tdefault query\tx\n');
    expect(loadWorkload({ queriesFile: file, catalogDir: root, defaultQueriesFile: dflt }).queries).toEqual(['only this']);
    expect(loadWorkload({ catalogDir: root, defaultQueriesFile: dflt }).queries).toEqual(['red bbq', 'blue lamp']);
    const bare = index({ judged: false, users: false, name: 'bare' }).root;
    expect(loadWorkload({ catalogDir: bare, defaultQueriesFile: dflt }).queries).toEqual(['default query']);
    const warnings: string[] = [];
    const none = loadWorkload({ catalogDir: path.join(dir, 'missing'), defaultQueriesFile: path.join(dir, 'nope.csv') }, (m) => warnings.push(m));
    expect(none.queries).toEqual([...BUILTIN_QUERIES]);
    expect(none.userIds).toEqual([]);
    expect(warnings).toEqual([expect.stringMatching(/no catalog index at .*missing/)]);
    fs.writeFileSync(file, '\n');
    expect(() => loadWorkload({ queriesFile: file })).toThrow(/holds no query/);
  });

  it('recommends for the catalog’s users, else for items seen in answers, else for known or fallback products', () => {
    const byUser = new RecommendSubjects({ userIds: ['u1', 'u3'], productIds: [] });
    expect([byUser.subject(), byUser.subject(), byUser.subject()]).toEqual([
      { $case: 'userId', value: 'u1' },
      { $case: 'userId', value: 'u3' },
      { $case: 'userId', value: 'u1' },
    ]);
    const byItems = new RecommendSubjects({ userIds: [], productIds: ['k1', 'k2'] });
    expect(byItems.subject()).toEqual({ $case: 'recent', value: { itemIds: ['k1', 'k2'] } });
    byItems.saw(['s1', 's2', 's3', 's4', '']);
    expect(byItems.subject()).toEqual({ $case: 'recent', value: { itemIds: ['s4', 's1', 's2'] } });
    const fallback = new RecommendSubjects({ userIds: [], productIds: [] }).subject();
    expect(fallback).toEqual({ $case: 'recent', value: { itemIds: FALLBACK_PRODUCT_IDS.slice(0, 3) } });
  });
});
