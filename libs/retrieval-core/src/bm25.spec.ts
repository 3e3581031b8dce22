import { ndcgAt } from '@ranksafe/ranking-core';
import { loadWandsSlice } from '@ranksafe/testing';
import { Bm25Index, topK } from './bm25';
import { analyze } from './text';

describe('analyze', () => {
  it('lower-cases, strips accents and punctuation, drops stopwords, folds plurals', () => {
    expect(analyze('The Café Tables & Chairs, with 2 Boxes of ACCESSORIES!')).toEqual(['cafe', 'table', 'chair', '2', 'box', 'accessory']);
    expect(analyze('glass dress bus')).toEqual(['glass', 'dress', 'bus']);
    expect(analyze('  ')).toEqual([]);
  });
});

const docs = [
  { id: 'a', fields: { title: 'solid oak dining table', description: 'seats six', category: 'dining tables' } },
  { id: 'b', fields: { title: 'oak bookshelf', description: 'five shelves of solid oak', category: 'storage' } },
  { id: 'c', fields: { title: 'glass coffee table', description: 'tempered glass top', category: 'living room tables' } },
  { id: 'd', fields: { title: 'running shoes', description: 'lightweight mesh, for the road', category: 'footwear' } },
];
const index = () => new Bm25Index(docs, { fieldWeights: { title: 2, description: 1, category: 1 } });

describe('Bm25Index', () => {
  it('ranks documents that match more, rarer query terms first', () => {
    const hits = index().search('oak table', 10);
    expect(hits.map((h) => docs[h.doc]!.id)).toEqual(['a', 'b', 'c']);
    expect(hits[0]!.score).toBeGreaterThan(hits[1]!.score);
  });

  it('weights the title above the description', () => {
    const ix = new Bm25Index(
      [
        { id: 'in-description', fields: { title: 'reading light', description: 'a brass lamp' } },
        { id: 'in-title', fields: { title: 'brass lamp', description: 'a reading light' } },
      ],
      { fieldWeights: { title: 3, description: 1 } },
    );
    expect(ix.search('lamp', 10).map((h) => h.doc)).toEqual([1, 0]);
  });

  it('returns nothing for no or unknown terms, and honours k and filters', () => {
    const ix = index();
    expect(ix.search('the of and', 10)).toEqual([]);
    expect(ix.search('sofa', 10)).toEqual([]);
    expect(ix.search('oak table', 1)).toHaveLength(1);
    expect(ix.search('table', 10, (d) => docs[d]!.fields.category !== 'dining tables').map((h) => docs[h.doc]!.id)).toEqual(['c']);
  });

  it('topK keeps the best k with stable ties', () => {
    const scores = new Map([
      [5, 1],
      [1, 3],
      [2, 3],
      [9, 0.5],
    ]);
    expect(topK(scores, 3)).toEqual([
      { doc: 1, score: 3 },
      { doc: 2, score: 3 },
      { doc: 5, score: 1 },
    ]);
  });
});

// Real relevance judgments (../shared/data/wands); skipped where the data is absent.
const wands = loadWandsSlice();
(wands ? describe : describe.skip)('BM25 on the WANDS slice', () => {
  it('reaches the NDCG@10 a BM25 baseline should (published full-WANDS BM25: 0.54)', () => {
    const ix = new Bm25Index(
      wands!.products.map((p) => ({ id: p.id, fields: { title: p.title, description: p.description, category: p.category } })),
      { fieldWeights: { title: 2, description: 1, category: 1 } },
    );
    const scores = Object.values(wands!.qrels).map((q) =>
      ndcgAt(
        10,
        ix.search(q.query, 10).map((h) => wands!.products[h.doc]!.id),
        q.grades,
      ),
    );
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    console.log(`BM25 NDCG@10 on the WANDS slice: ${mean.toFixed(4)} over ${scores.length} queries`);
    expect(mean).toBeGreaterThan(0.5);
  });
});
