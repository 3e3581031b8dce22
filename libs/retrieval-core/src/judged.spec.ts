import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseJudgedQuerySet } from '@ranksafe/ranking-core';
import { CATALOG_INDEX_FILES, readJudgedQueries, writeCatalogIndex } from './catalog-index';
import { generateCatalog, generateJudgedQueries, judgedQuerySet } from './synthetic';

describe('judged queries of the synthetic shop', () => {
  const { products } = generateCatalog({ products: 1500, users: 0, seed: 42 });
  const byId = new Map(products.map((p) => [p.id, p]));

  it('grades by leaf category and attribute value', () => {
    const qs = generateJudgedQueries(products, { seed: 42, queries: 60 });
    expect(qs).toHaveLength(60);
    expect(new Set(qs.map((q) => q.query)).size).toBe(60);
    for (const q of qs) {
      const { category, attribute, value } = q.about!;
      expect(q.query.toLowerCase()).toContain(value!.toLowerCase());
      expect(new Set(q.candidates)).toEqual(new Set(Object.keys(q.grades)));
      for (const [id, g] of Object.entries(q.grades)) {
        const p = byId.get(id)!;
        const want = p.category !== category ? 0 : p.attributes[attribute!] === value ? 2 : 1;
        expect([id, g]).toEqual([id, want]);
      }
      const count = (g: number) => Object.values(q.grades).filter((x) => x === g).length;
      expect(count(2)).toBeGreaterThanOrEqual(1);
      expect(count(1)).toBeGreaterThanOrEqual(1);
      expect(count(0)).toBe(10);
    }
  });

  it('is deterministic for a seed, and another seed asks other questions', () => {
    const a = generateJudgedQueries(products, { seed: 42, queries: 30 });
    expect(generateJudgedQueries(products, { seed: 42, queries: 30 })).toEqual(a);
    const b = generateJudgedQueries(products, { seed: 43, queries: 30 });
    expect(b.map((q) => q.query)).not.toEqual(a.map((q) => q.query));
  });

  it('shuffles candidates, so their order does not give the grades away', () => {
    const qs = generateJudgedQueries(products, { seed: 42, queries: 40 });
    const firstIsExact = qs.filter((q) => q.grades[q.candidates[0]!] === 2).length;
    expect(firstIsExact).toBeLessThan(qs.length);
    expect(firstIsExact).toBeGreaterThan(0);
  });

  it('travels inside a catalog index as a verified artifact', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-judged-'));
    try {
      const few = products.slice(0, 200);
      const set = judgedQuerySet(few, { seed: 1, queries: 10, source: 'test' });
      expect(parseJudgedQuerySet(JSON.parse(JSON.stringify(set)))).toEqual(set);
      const dims = 4;
      const embeddings = new Float32Array(few.length * dims).map((_, i) => Math.sin(i));
      const input = {
        products: few,
        users: [],
        embeddings,
        dims,
        embeddingModel: { name: 'm', variant: 'v', sha256: 'x' },
        textDescriptionWords: 0,
        source: 'test',
      };
      const { dir: withQueries } = writeCatalogIndex(path.join(root, 'a'), { ...input, judgedQueries: set });
      expect(readJudgedQueries(withQueries)).toEqual(set);
      const { dir: without } = writeCatalogIndex(path.join(root, 'b'), input);
      expect(readJudgedQueries(without)).toBeUndefined();
      fs.appendFileSync(path.join(withQueries, CATALOG_INDEX_FILES.judged), ' ');
      expect(() => readJudgedQueries(withQueries)).toThrow(/sha256/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
