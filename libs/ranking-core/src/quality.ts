// Offline ranking quality for a rollout's quality gate: mean NDCG@k of a ranker over judged
// queries. Pure: the ranker is any async function (a gRPC call to a ranking replica, an engine in
// process, a fake in a unit test), so the same numbers come out wherever the gate runs.
import { z } from 'zod';
import { ndcgAt } from './metrics';

/** One judged query: the candidates a ranker orders, and a grade per judged id (unjudged = 0). */
export interface JudgedQuery {
  id: string;
  query: string;
  candidates: string[];
  /** 2 = exact, 1 = partial, 0 = irrelevant (WANDS' scale; the demo catalog's generator uses it too). */
  grades: Record<string, number>;
  /** What the query is about, for reports (the demo generator: category, attribute, value). */
  about?: Record<string, string>;
}

export const JUDGED_QUERIES_FORMAT = 'ranksafe.judged-queries/v1';

const judgedQuerySchema = z.object({
  id: z.string().min(1),
  query: z.string().min(1),
  candidates: z.array(z.string().min(1)).min(1),
  grades: z.record(z.string(), z.number().int().min(0).max(3)),
  about: z.record(z.string(), z.string()).optional(),
});

const judgedSetSchema = z.object({
  format: z.literal(JUDGED_QUERIES_FORMAT),
  source: z.string(),
  grading: z.record(z.string(), z.string()),
  queries: z.array(judgedQuerySchema).min(1),
});

/** judged-queries.json: what it was made from, what each grade means, and the queries. */
export type JudgedQuerySet = z.infer<typeof judgedSetSchema>;

/** Validates a parsed judged-queries.json (throws a readable error naming the bad field). */
export function parseJudgedQuerySet(json: unknown, where = 'judged queries'): JudgedQuerySet {
  const r = judgedSetSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${where}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return r.data;
}

/** Judged queries from graded relevance judgements (the WANDS slice's qrels): the candidates are every judged product. */
export function judgedQueriesFromQrels(qrels: Record<string, { query: string; grades: Record<string, number> }>): JudgedQuery[] {
  return Object.entries(qrels)
    .map(([id, q]) => ({ id, query: q.query, candidates: Object.keys(q.grades), grades: q.grades }))
    .filter((q) => q.candidates.length > 0);
}

/** Orders `candidateIds` for `query`, best first (it may return fewer; ids not among the candidates count as irrelevant). */
export type RankFn = (query: string, candidateIds: string[]) => Promise<string[]>;

export interface QualityReport {
  metric: string;
  k: number;
  /** Mean NDCG@k over the evaluated queries. */
  mean: number;
  queries: number;
  /** Queries without any positively graded candidate: NDCG is undefined there, so they are left out. */
  skipped: number;
  perQuery: Array<{ id: string; ndcg: number }>;
}

/**
 * Mean NDCG@k (default 10) of `rank` over `queries`, with graded gains 2^g − 1 and the ideal
 * ranking built from the query's judged candidates. Duplicate ids in a ranking count once.
 */
export async function evaluateNdcg(queries: JudgedQuery[], rank: RankFn, opts: { k?: number; concurrency?: number } = {}): Promise<QualityReport> {
  const k = opts.k ?? 10;
  const evaluated = queries.filter((q) => q.candidates.some((id) => (q.grades[id] ?? 0) > 0));
  const perQuery: QualityReport['perQuery'] = new Array(evaluated.length);
  let next = 0;
  const worker = async () => {
    while (next < evaluated.length) {
      const i = next++;
      const q = evaluated[i]!;
      const ranked = [...new Set(await rank(q.query, q.candidates))];
      // The ideal is over the candidates the ranker was given; an id it invented earns nothing where it stands.
      const grades = Object.fromEntries(q.candidates.map((id) => [id, q.grades[id] ?? 0]));
      perQuery[i] = { id: q.id, ndcg: ndcgAt(k, ranked, grades) };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, worker));
  const mean = perQuery.length ? perQuery.reduce((s, x) => s + x.ndcg, 0) / perQuery.length : NaN;
  return { metric: `ndcg@${k}`, k, mean, queries: perQuery.length, skipped: queries.length - evaluated.length, perQuery };
}

/**
 * The ranker a bi-encoder is: order the candidates by the dot product (cosine, for normalised
 * embeddings) of the query's embedding with each candidate text's. Candidate embeddings are
 * cached per id, so the judged queries' shared candidates are encoded once.
 */
export function embeddingRanker(encode: (texts: string[]) => Promise<ArrayLike<number>[]>, textOf: (id: string) => string | undefined): RankFn {
  const cache = new Map<string, ArrayLike<number>>();
  return async (query, ids) => {
    const known = ids.filter((id) => textOf(id) !== undefined);
    const todo = known.filter((id) => !cache.has(id));
    const [q, ...vs] = await encode([query, ...todo.map((id) => textOf(id)!)]);
    todo.forEach((id, i) => cache.set(id, vs[i]!));
    const score = (v: ArrayLike<number>) => {
      let s = 0;
      for (let i = 0; i < v.length; i++) s += v[i]! * q![i]!;
      return s;
    };
    return known
      .map((id) => ({ id, s: score(cache.get(id)!) }))
      .sort((a, b) => b.s - a.s)
      .map((x) => x.id);
  };
}
