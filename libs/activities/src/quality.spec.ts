// The rollout's quality gate for a sequential recommender: next-item NDCG@10 over held-out histories of
// the production catalog index, with the real ONNX model (the committed ring-walk fixture) and a real index.
import * as path from 'node:path';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { nextItemQuality, SequentialRecommender } from '@ranksafe/ranking-core';
import type { Fetched } from '@ranksafe/registry-client';
import { readIndexCatalog } from '@ranksafe/retrieval-core';
import { ringCatalogIndex, SEQREC_FIXTURE_DIR } from '@ranksafe/testing';
import { registryQualityEvaluator } from './quality';

describe('registryQualityEvaluator: a sequential recommender', () => {
  let index: string;
  const dirs: Record<string, string> = {};
  const fetch = async (name: string, ref: string): Promise<Fetched> => {
    const dir = name === 'ring' ? index : dirs[ref]!;
    return { dir, name, version: name === 'ring' ? 'idx' : ref, sha256: `${name}-${ref}`, fromCache: false };
  };
  beforeAll(async () => {
    index = (await ringCatalogIndex()).dir;
    dirs['v1'] = SEQREC_FIXTURE_DIR;
    dirs['v2'] = SEQREC_FIXTURE_DIR;
    dirs['encoder'] = path.join(WORKSPACE_ROOT, 'models', 'minilm-l6-v2');
  }, 120_000);

  it('scores both versions by next-item NDCG@10 on the index’s histories of 3 items or more', async () => {
    const ev = await registryQualityEvaluator({ fetch, indexName: 'ring' }).evaluate({
      model: 'seqrec-walk',
      candidate: 'v2',
      production: 'v1',
      maxQueries: 60,
    });
    const histories = readIndexCatalog(index).users.filter((u) => u.items.length >= 3);
    expect(ev).toMatchObject({ metric: 'next-item ndcg@10', index: { name: 'ring', version: 'idx' } });
    expect(ev.candidate.queries).toBe(histories.length);
    expect(ev.candidate.ndcg).toBe(ev.production.ndcg);
    // The same figure as the metric computed directly (a model of this walk is far above chance: ~0.9).
    const rec = await SequentialRecommender.load(SEQREC_FIXTURE_DIR, {
      variant: 'fp32',
      batcher: { maxBatchSize: 64, maxQueueDelayMs: 0, maxQueueSize: 4096 },
    });
    try {
      const direct = await nextItemQuality(
        rec,
        [...histories].sort((a, b) => (a.userId < b.userId ? -1 : 1)).map((u) => u.items.map((i) => i.id)),
      );
      expect(ev.candidate.ndcg).toBeCloseTo(direct.ndcg, 10);
      expect(direct.ndcg).toBeGreaterThan(0.8);
    } finally {
      await rec.close();
    }
  });

  it('refuses to compare a recommender with a search model', async () => {
    await expect(
      registryQualityEvaluator({ fetch, indexName: 'ring' }).evaluate({ model: 'x', candidate: 'v2', production: 'encoder', maxQueries: 5 }),
    ).rejects.toThrow(/not the same kind of model/);
  });
});
