// What the load agent sends: the queries of its Search requests and the subjects of its Recommend
// requests, read from the catalog index the stack serves and/or a queries file, with built-in
// fallbacks so that it always has something to send.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Shop queries used when neither a queries file nor the catalog's judged queries are available. */
export const BUILTIN_QUERIES = [
  'running shoes',
  'wireless headphones',
  'coffee table',
  'office chair',
  'red dress',
  'kitchen knife set',
  'yoga mat',
  'bluetooth speaker',
  'leather wallet',
  'desk lamp',
  'rain jacket',
  'gaming mouse',
  'water bottle',
  'sofa bed',
  'baby stroller',
  'face moisturizer',
  'garden hose',
  'wall clock',
  'backpack',
  'bbq grill',
] as const;

/** Product ids recommended from when nothing better is known (the demo shop's first products). */
export const FALLBACK_PRODUCT_IDS = Array.from({ length: 20 }, (_, i) => `p${String(i + 1).padStart(6, '0')}`);

export interface Workload {
  queries: string[];
  /** Users of the catalog with at least one interaction (Recommend by user id). */
  userIds: string[];
  /** Products known to be in the catalog (the judged queries' candidates), for Recommend by recent items. */
  productIds: string[];
  /** Where each list came from, for the start-up log line. */
  sources: { queries: string; users: string; products: string };
}

/** A catalog index's version directory: `p` itself when it holds manifest.json, else the version its CURRENT names. */
export function resolveIndexDir(p: string): string | undefined {
  if (fs.existsSync(path.join(p, 'manifest.json'))) return p;
  try {
    const version = fs.readFileSync(path.join(p, 'CURRENT'), 'utf8').trim();
    if (/^[\w.-]+$/.test(version) && fs.existsSync(path.join(p, version, 'manifest.json'))) return path.join(p, version);
  } catch {
    /* no CURRENT */
  }
  return undefined;
}

/** Queries of a file: the `query` column of a tab-separated file with a header, else one query a line. */
export function readQueriesFile(file: string): string[] {
  const lines = fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const header = lines[0]?.split('\t').map((h) => h.trim().toLowerCase());
  const col = header && header.length > 1 ? header.indexOf('query') : -1;
  const raw = col >= 0 ? lines.slice(1).map((l) => l.split('\t')[col] ?? '') : lines;
  return unique(raw.map((q) => q.trim()).filter(Boolean));
}

/** The judged queries of an index (`queries[].query`, `queries[].candidates` of judged-queries.json). */
function readJudged(dir: string): { queries: string[]; productIds: string[] } {
  const file = path.join(dir, 'judged-queries.json');
  if (!fs.existsSync(file)) return { queries: [], productIds: [] };
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { queries?: Array<{ query?: unknown; candidates?: unknown }> };
  const qs = Array.isArray(doc.queries) ? doc.queries : [];
  return {
    queries: unique(qs.map((q) => (typeof q.query === 'string' ? q.query.trim() : '')).filter(Boolean)),
    productIds: unique(qs.flatMap((q) => (Array.isArray(q.candidates) ? q.candidates.filter((c): c is string => typeof c === 'string' && c !== '') : []))),
  };
}

/** User ids of users.jsonl (`{"userId": …, "items": [...]}` a line) that have interactions. */
function readUserIds(dir: string): string[] {
  const file = path.join(dir, 'users.jsonl');
  if (!fs.existsSync(file)) return [];
  const ids: string[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const u = JSON.parse(line) as { userId?: unknown; items?: unknown };
    if (typeof u.userId === 'string' && u.userId && Array.isArray(u.items) && u.items.length > 0) ids.push(u.userId);
  }
  return unique(ids);
}

/**
 * The workload. Queries: `queriesFile` when given; else the catalog's judged queries (they match
 * what is served); else `defaultQueriesFile` when it exists; else BUILTIN_QUERIES. Users and
 * products come from the catalog when it has them. A missing or unreadable catalog only narrows
 * what is known (reported through `warn`); an explicit queries file that cannot be read throws.
 */
export function loadWorkload(
  opts: { queriesFile?: string; catalogDir?: string; defaultQueriesFile?: string },
  warn: (msg: string) => void = () => undefined,
): Workload {
  let judged = { queries: [] as string[], productIds: [] as string[] };
  let userIds: string[] = [];
  let indexDir: string | undefined;
  if (opts.catalogDir) {
    indexDir = resolveIndexDir(opts.catalogDir);
    if (!indexDir) warn(`no catalog index at ${opts.catalogDir} (neither manifest.json nor CURRENT): no catalog queries or users`);
    else {
      try {
        judged = readJudged(indexDir);
      } catch (e) {
        warn(`cannot read the judged queries of ${indexDir}: ${(e as Error).message}`);
      }
      try {
        userIds = readUserIds(indexDir);
      } catch (e) {
        warn(`cannot read the users of ${indexDir}: ${(e as Error).message}`);
      }
    }
  }
  let queries: string[] = [];
  let querySource = '';
  if (opts.queriesFile) {
    queries = readQueriesFile(opts.queriesFile);
    querySource = opts.queriesFile;
    if (!queries.length) throw new Error(`LOAD_QUERIES_FILE ${opts.queriesFile} holds no query`);
  } else if (judged.queries.length) {
    queries = judged.queries;
    querySource = `${indexDir}/judged-queries.json`;
  } else if (opts.defaultQueriesFile && fs.existsSync(opts.defaultQueriesFile)) {
    try {
      queries = readQueriesFile(opts.defaultQueriesFile);
      querySource = opts.defaultQueriesFile;
    } catch (e) {
      warn(`cannot read ${opts.defaultQueriesFile}: ${(e as Error).message}`);
    }
  }
  if (!queries.length) {
    queries = [...BUILTIN_QUERIES];
    querySource = 'built-in';
  }
  return {
    queries,
    userIds,
    productIds: judged.productIds,
    sources: {
      queries: `${querySource} (${queries.length})`,
      users: userIds.length ? `${indexDir}/users.jsonl (${userIds.length})` : 'none',
      products: judged.productIds.length ? `${indexDir}/judged-queries.json (${judged.productIds.length})` : 'none',
    },
  };
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}
