// The rollout's quality gate, run in the drill-worker: both versions downloaded through the
// registry (sha256 verified), each loaded in a scratch ONNX session of its own (never on a
// serving replica) and warmed, then mean NDCG@10 of each over the judged queries that the
// production catalog index carries (the demo shop generator writes them; an index built from the
// WANDS slice carries its graded judgements).
import { BertEncoder, embeddingRanker, evaluateNdcg, pickVariant, type JudgedQuery } from '@ranksafe/ranking-core';
import { readIndexTexts, readJudgedQueries } from '@ranksafe/retrieval-core';
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

/** The evaluator the drill-worker runs: `fetch` is a RegistryFetcher's (verified download + unpack, cached by sha256). */
export function registryQualityEvaluator(o: { fetch: (name: string, ref: string) => Promise<Fetched>; indexName: string; threads?: number }): QualityEvaluator {
  // A production score is the same until production, the index or the query count change.
  const scores = new Map<string, QualityScore>();
  const evaluationSet = async () => {
    const idx = await o.fetch(o.indexName, 'production');
    const judged = readJudgedQueries(idx.dir);
    if (!judged?.queries.length)
      throw new NoEvaluationSetError(`catalog index ${o.indexName}@${idx.version} carries no judged queries: rebuild it with tools/data/build-index.ts`);
    return { idx, queries: judged.queries as JudgedQuery[], texts: readIndexTexts(idx.dir) };
  };
  const score = async (model: string, version: string, set: Awaited<ReturnType<typeof evaluationSet>>, maxQueries: number): Promise<QualityScore> => {
    const f = await o.fetch(model, version);
    const key = `${model}@${f.sha256}|${set.idx.sha256}|${maxQueries}`;
    const hit = scores.get(key);
    if (hit) return hit;
    const t0 = Date.now();
    const { variant } = pickVariant(f.dir, '', false);
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
      const s: QualityScore = { version: f.version, sha256: f.sha256, ndcg: r.mean, queries: r.queries, loadMs, evalMs: Date.now() - t0 - loadMs };
      scores.set(key, s);
      return s;
    } finally {
      await enc.dispose();
    }
  };
  return {
    async evaluate(input) {
      const set = await evaluationSet();
      const production = await score(input.model, input.production, set, input.maxQueries);
      const candidate = await score(input.model, input.candidate, set, input.maxQueries);
      return { metric: 'ndcg@10', index: { name: o.indexName, version: set.idx.version }, candidate, production };
    },
    async sampleQueries(n) {
      const set = await evaluationSet();
      return set.queries.slice(0, n).map((q) => q.query);
    },
  };
}
