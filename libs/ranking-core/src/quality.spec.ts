import { evaluateNdcg, judgedQueriesFromQrels, parseJudgedQuerySet, type JudgedQuery } from './quality';

const queries: JudgedQuery[] = [
  { id: 'qa', query: 'velvet sofa', candidates: ['a', 'b', 'c', 'd'], grades: { a: 2, b: 1, c: 0, d: 0 } },
  { id: 'qb', query: 'oak table', candidates: ['e', 'f', 'g'], grades: { e: 2, f: 0 } },
  { id: 'qc', query: 'nothing relevant', candidates: ['h', 'i'], grades: { h: 0 } },
];
/** A fixed ranking per query, as a ranker would answer. */
const fixed = (orders: Record<string, string[]>) => async (query: string) => orders[query]!;

describe('evaluateNdcg', () => {
  it('computes mean NDCG@10 as by hand', async () => {
    // qa ranked c, a, b, d: DCG = 0/log2(2) + 3/log2(3) + 1/log2(4) = 2.392789; ideal = 3 + 1/log2(3) = 3.630930 → 0.659002.
    // qb ranked e first: perfect, 1. qc has no positive grade: skipped. Mean = (0.659002 + 1) / 2.
    const r = await evaluateNdcg(queries, fixed({ 'velvet sofa': ['c', 'a', 'b', 'd'], 'oak table': ['e', 'g', 'f'], 'nothing relevant': ['i', 'h'] }));
    expect(r.metric).toBe('ndcg@10');
    expect(r.queries).toBe(2);
    expect(r.skipped).toBe(1);
    expect(r.perQuery[0]!.ndcg).toBeCloseTo(0.659002, 5);
    expect(r.perQuery[1]!.ndcg).toBe(1);
    expect(r.mean).toBeCloseTo(0.829501, 5);
  });

  it('cuts at k, counts a duplicate once and an invented id as irrelevant', async () => {
    // k = 2, qa ranked c, a: DCG = 3/log2(3); ideal@2 = 3 + 1/log2(3) → 0.521296.
    const atTwo = await evaluateNdcg([queries[0]!], fixed({ 'velvet sofa': ['c', 'a', 'b', 'd'] }), { k: 2 });
    expect(atTwo.mean).toBeCloseTo(0.521296, 5);
    const dup = await evaluateNdcg([queries[1]!], fixed({ 'oak table': ['e', 'e', 'e'] }));
    expect(dup.mean).toBe(1);
    const invented = await evaluateNdcg([queries[1]!], fixed({ 'oak table': ['zzz', 'e'] }));
    expect(invented.mean).toBeCloseTo(1 / Math.log2(3), 6);
  });

  it('passes each query its own candidates, and runs them concurrently when asked', async () => {
    const seen: Array<[string, string[]]> = [];
    let inFlight = 0;
    let peak = 0;
    await evaluateNdcg(
      queries,
      async (q, c) => {
        seen.push([q, c]);
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return c;
      },
      { concurrency: 2 },
    );
    expect(seen.sort()).toEqual([
      ['oak table', ['e', 'f', 'g']],
      ['velvet sofa', ['a', 'b', 'c', 'd']],
    ]);
    expect(peak).toBe(2);
  });
});

describe('judged query sets', () => {
  it('validates judged-queries.json and names a bad field', () => {
    const good = { format: 'ranksafe.judged-queries/v1', source: 'test', grading: { '2': 'exact' }, queries };
    expect(parseJudgedQuerySet(JSON.parse(JSON.stringify(good))).queries).toHaveLength(3);
    expect(() => parseJudgedQuerySet({ ...good, queries: [{ ...queries[0], grades: { a: 7 } }] }, 'q.json')).toThrow(/^q\.json: queries\.0\.grades\.a: /);
    expect(() => parseJudgedQuerySet({ ...good, format: 'other' })).toThrow(/format/);
  });

  it('turns graded qrels (WANDS) into judged queries over their judged products', () => {
    expect(judgedQueriesFromQrels({ '7': { query: 'salon chair', grades: { x: 2, y: 0 } }, '8': { query: 'empty', grades: {} } })).toEqual([
      { id: '7', query: 'salon chair', candidates: ['x', 'y'], grades: { x: 2, y: 0 } },
    ]);
  });
});
