// The rollout's quality gate, run in the drill-worker: both versions downloaded through the
// registry (sha256 verified), each loaded in a scratch ONNX session of its own (never on a
// serving replica) and warmed, then mean NDCG@10 of each over the judged queries that the
// production catalog index carries (the demo shop generator writes them; an index built from the
// WANDS slice carries its graded judgements) — or, for sequential recommenders, next-item NDCG@10
// over held-out histories of that index.
import {
  BertEncoder,
  embeddingRanker,
  evaluateNdcg,
  nextItemQuality,
  pickVariant,
  readManifest,
  SequentialRecommender,
  type JudgedQuery,
} from '@ranksafe/ranking-core';
import { readIndexCatalog, readIndexTexts, readJudgedQueries } from '@ranksafe/retrieval-core';
import type { Fetched } from '@ranksafe/registry-client';

export interface QualityScore {
  version: string;
  sha256: string;
  ndcg: number;
  queries: number;
  loadMs: number;
  evalMs: number;
}

export interface QualityEvaluation {
  metric: string;
  index: { name: string; version: string };
  candidate: QualityScore;
  production: QualityScore;
}

export interface QualityEvaluator {
  evaluate(input: { model: string; candidate: string; production: string; maxQueries: number }): Promise<QualityEvaluation>;
  /** Query texts of the evaluation set (an index canary's probe queries). */
  sampleQueries(n: number): Promise<string[]>;
}

export class NoEvaluationSetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoEvaluationSetError';
  }
}

/** Held-out histories a sequential recommender's gate ranks (the production index's users with 3 items or more, in a stable order). */
export const GATE_HISTORIES = 2000;

/**
 * The evaluator the drill-worker runs: `fetch` is a RegistryFetcher's (verified download + unpack, cached
 * by sha256). A search model (bi-encoder) is scored by NDCG@10 over the judged queries of the production
 * catalog index; a sequential recommender by next-item NDCG@10 over held-out histories of that index (each
 * history's last item ranked against every item, the rest of the history left out: nextItemQuality).
 */
export function registryQualityEvaluator(o: { fetch: (name: string, ref: string) => Promise<Fetched>; indexName: string; threads?: number }): QualityEvaluator {
  // A production score is the same until production, the index or the query count change.
  const scores = new Map<string, QualityScore>();
  const judgedSet = (idx: Fetched) => {
    const judged = readJudgedQueries(idx.dir);
    if (!judged?.queries.length)
      throw new NoEvaluationSetError(`catalog index ${o.indexName}@${idx.version} carries no judged queries: rebuild it with tools/data/build-index.ts`);
    return { queries: judged.queries as JudgedQuery[], texts: readIndexTexts(idx.dir) };
  };
  const heldOut = (idx: Fetched): string[][] => {
    const { users } = readIndexCatalog(idx.dir);
    const histories = users
      .filter((u) => u.items.length >= 3)
      .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
      .slice(0, GATE_HISTORIES)
      .map((u) => u.items.map((i) => i.id));
    if (!histories.length) throw new NoEvaluationSetError(`catalog index ${o.indexName}@${idx.version} has no histories of 3 items or more to hold out`);
    return histories;
  };
  const score = async (model: string, version: string, idx: Fetched, maxQueries: number): Promise<QualityScore & { metric: string }> => {
    const f = await o.fetch(model, version);
    const key = `${model}@${f.sha256}|${idx.sha256}|${maxQueries}`;
    const hit = scores.get(key);
    if (hit) return hit as QualityScore & { metric: string };
    const t0 = Date.now();
    const { variant, manifest } = pickVariant(f.dir, '', false);
    if (manifest.kind === 'sequential-recommender') {
      const histories = heldOut(idx);
      const rec = await SequentialRecommender.load(f.dir, {
        variant,
        intraOpThreads: o.threads ?? 1,
        batcher: { maxBatchSize: 64, maxQueueDelayMs: 0, maxQueueSize: 4096 },
      });
      try {
        const loadMs = Date.now() - t0;
        const q = await nextItemQuality(rec, histories);
        const s = {
          metric: 'next-item ndcg@10',
          version: f.version,
          sha256: f.sha256,
          ndcg: q.ndcg,
          queries: q.histories,
          loadMs,
          evalMs: Date.now() - t0 - loadMs,
        };
        scores.set(key, s);
        return s;
      } finally {
        await rec.close();
      }
    }
    const set = judgedSet(idx);
    const enc = await BertEncoder.load(f.dir, { variant, intraOpThreads: o.threads ?? 1 });
    try {
      await enc.encode(['warm up the scratch session']);
      const loadMs = Date.now() - t0;
      const r = await evaluateNdcg(
        set.queries.slice(0, maxQueries),
        embeddingRanker(
          (texts) => enc.encode(texts),
          (id) => set.texts.get(id),
        ),
      );
      const s = { metric: 'ndcg@10', version: f.version, sha256: f.sha256, ndcg: r.mean, queries: r.queries, loadMs, evalMs: Date.now() - t0 - loadMs };
      scores.set(key, s);
      return s;
    } finally {
      await enc.dispose();
    }
  };
  return {
    async evaluate(input) {
      const idx = await o.fetch(o.indexName, 'production');
      const kindOf = async (version: string) => readManifest((await o.fetch(input.model, version)).dir).kind;
      const [p, c] = [await kindOf(input.production), await kindOf(input.candidate)];
      if (p !== c) throw new Error(`${input.model}: ${input.candidate} is a ${c} and production ${input.production} a ${p}: not the same kind of model`);
      const { metric, ...production } = await score(input.model, input.production, idx, input.maxQueries);
      const { metric: _metric, ...candidate } = await score(input.model, input.candidate, idx, input.maxQueries);
      return { metric, index: { name: o.indexName, version: idx.version }, candidate, production };
    },
    async sampleQueries(n) {
      const idx = await o.fetch(o.indexName, 'production');
      return judgedSet(idx)
        .queries.slice(0, n)
        .map((q) => q.query);
    },
  };
}
