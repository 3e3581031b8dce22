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
  /** Next-item NDCG@10 of a sequential recommender over the held-out histories. */
  const scoreRecommender = async (f: Fetched, variant: string, histories: string[][]) => {
    const t0 = Date.now();
    const rec = await SequentialRecommender.load(f.dir, {
      variant,
      intraOpThreads: o.threads ?? 1,
      batcher: { maxBatchSize: 64, maxQueueDelayMs: 0, maxQueueSize: 4096 },
    });
    try {
      const loadMs = Date.now() - t0;
      const q = await nextItemQuality(rec, histories);
      return { ndcg: q.ndcg, queries: q.histories, loadMs, evalMs: Date.now() - t0 - loadMs };
    } finally {
      await rec.close();
    }
  };
  /** Mean NDCG@10 of a search model over the judged queries. */
  const scoreEncoder = async (f: Fetched, variant: string, set: ReturnType<typeof judgedSet>, maxQueries: number) => {
    const t0 = Date.now();
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
      return { ndcg: r.mean, queries: r.queries, loadMs, evalMs: Date.now() - t0 - loadMs };
    } finally {
      await enc.dispose();
    }
  };
  return {
    async evaluate(input) {
      const idx = await o.fetch(o.indexName, 'production');
      const [production, candidate] = [await o.fetch(input.model, input.production), await o.fetch(input.model, input.candidate)];
      const [pk, ck] = [readManifest(production.dir).kind, readManifest(candidate.dir).kind];
      if (pk !== ck) throw new Error(`${input.model}: ${input.candidate} is a ${ck} and production ${input.production} a ${pk}: not the same kind of model`);
      const recommender = pk === 'sequential-recommender';
      // The evaluation set is read once, and only when a score is not known yet.
      let histories: string[][] | undefined;
      let judged: ReturnType<typeof judgedSet> | undefined;
      const score = async (f: Fetched): Promise<QualityScore> => {
        const key = `${input.model}@${f.sha256}|${idx.sha256}|${recommender ? GATE_HISTORIES : input.maxQueries}`;
        let s = scores.get(key);
        if (!s) {
          const { variant } = pickVariant(f.dir, '', false);
          const r = recommender
            ? await scoreRecommender(f, variant, (histories ??= heldOut(idx)))
            : await scoreEncoder(f, variant, (judged ??= judgedSet(idx)), input.maxQueries);
          s = { version: f.version, sha256: f.sha256, ...r };
          scores.set(key, s);
        }
        return s;
      };
      return {
        metric: recommender ? 'next-item ndcg@10' : 'ndcg@10',
        index: { name: o.indexName, version: idx.version },
        production: await score(production),
        candidate: await score(candidate),
      };
    },
    async sampleQueries(n) {
      const idx = await o.fetch(o.indexName, 'production');
      return judgedSet(idx)
        .queries.slice(0, n)
        .map((q) => q.query);
    },
  };
}
