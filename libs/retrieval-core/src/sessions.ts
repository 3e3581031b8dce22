// Synthetic shopping sessions over a catalog, with latent preferences and an order a sequential
// recommender can learn (what the demo shop's recommender is trained on). Deterministic.
import type { CatalogProduct, UserHistory } from './catalog';
import { cumulative, indexAtWeight, mulberry32 } from './synthetic';

export interface SessionOptions {
  /** How many sessions (each becomes a user `s<n>` of the catalog's histories). */
  sessions: number;
  seed: number;
  /** About how many products sessions visit (the shop's head; at most the catalog). Default 5000. */
  headItems?: number;
}

const HOUR = 3_600_000;
const START = Date.UTC(2024, 6, 1);

/** A stable hash of a string to [0, 1). */
function unit(s: string, salt: number): number {
  let h = 2166136261 ^ salt;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return mulberry32(h)();
}

/**
 * Sessions with latent preferences and sequential structure. The shop has a head of popular products
 * (per category, by a stable Zipf-like popularity); every head product has three "next" products in
 * its category's successor category (a fixed pairing inside the same top category: sofa → cushions →
 * throws …), the same brand first. A session has a persona (one or two preferred categories, a
 * favourite brand); it starts at a popular product of a preferred category and then, at each step,
 * goes to one of the current product's next products (60%: first, second, third by 6:3:1), browses
 * the same shelf (25%: the favourite brand half of the time), or jumps to its other preferred category
 * (15%), never visiting a product twice; 4 to 12 steps, minutes apart.
 */
export function generateSessions(products: CatalogProduct[], opts: SessionOptions): UserHistory[] {
  if (!Number.isInteger(opts.sessions) || opts.sessions < 0) throw new Error('sessions must be a non-negative integer');
  if (opts.sessions === 0 || products.length === 0) return [];
  const rand = mulberry32(opts.seed ^ 0x5e55);
  const int = (n: number) => Math.floor(rand() * n);
  const share = Math.min(1, (opts.headItems ?? 5000) / products.length);

  // The head: per category, the most popular products (popularity = a stable Zipf-like draw per id).
  const byCategory = new Map<string, number[]>();
  products.forEach((p, i) => {
    let rows = byCategory.get(p.category);
    if (!rows) byCategory.set(p.category, (rows = []));
    rows.push(i);
  });
  const categories = [...byCategory.keys()].sort();
  const popularity = new Float64Array(products.length);
  products.forEach((p, i) => (popularity[i] = 1 / (0.02 + unit(p.id, 1)) ** 1.2));
  const head = new Map<string, number[]>();
  for (const c of categories) {
    const rows = byCategory.get(c)!.sort((a, b) => popularity[b]! - popularity[a]! || a - b);
    head.set(c, rows.slice(0, Math.max(3, Math.ceil(rows.length * share))));
  }

  // Each category's successor: the next category of the same top category (cyclic), else the next overall.
  const top = (c: string) => c.split(/\s*>\s*/)[0]!;
  const successor = new Map<string, string>();
  categories.forEach((c, i) => {
    const siblings = categories.filter((x) => top(x) === top(c));
    successor.set(c, siblings.length > 1 ? siblings[(siblings.indexOf(c) + 1) % siblings.length]! : categories[(i + 1) % categories.length]!);
  });
  // Each head product's three next products in the successor category: same brand first, then the most popular.
  const next = new Map<number, number[]>();
  for (const c of categories) {
    const there = head.get(successor.get(c)!)!;
    for (const row of head.get(c)!) {
      const brand = products[row]!.brand;
      const ranked = [...there].sort((a, b) => {
        const sa = (products[a]!.brand === brand ? 10 : 0) + unit(`${products[row]!.id}>${products[a]!.id}`, 2);
        const sb = (products[b]!.brand === brand ? 10 : 0) + unit(`${products[row]!.id}>${products[b]!.id}`, 2);
        return sb - sa || a - b;
      });
      next.set(row, ranked.filter((x) => x !== row).slice(0, 3));
    }
  }
  const cum = new Map(categories.map((c) => [c, cumulative(head.get(c)!.map((r) => popularity[r]!))]));
  const popularIn = (c: string): number => head.get(c)![indexAtWeight(cum.get(c)!, rand())]!;

  const width = Math.max(5, String(opts.sessions).length);
  const out: UserHistory[] = [];
  for (let s = 0; s < opts.sessions; s++) {
    const prefs = [categories[int(categories.length)]!, categories[int(categories.length)]!];
    let row = popularIn(prefs[0]!);
    const favourite = products[row]!.brand;
    const length = 4 + int(9);
    const seen = new Set<number>([row]);
    const items = [row];
    for (let step = 1, tries = 0; items.length < length && tries < 50; tries++) {
      const r = rand();
      let cand: number;
      if (r < 0.6 && next.get(row)?.length) {
        const nx = next.get(row)!;
        const w = rand();
        cand = nx[w < 0.6 ? 0 : w < 0.9 ? 1 : 2] ?? nx[0]!;
      } else if (r < 0.85) {
        const shelf = head.get(products[row]!.category)!;
        const own = shelf.filter((x) => products[x]!.brand === favourite);
        cand = own.length && rand() < 0.5 ? own[int(own.length)]! : popularIn(products[row]!.category);
      } else {
        cand = popularIn(prefs[step % 2]!);
      }
      if (seen.has(cand)) continue;
      seen.add(cand);
      items.push(cand);
      row = cand;
      step++;
    }
    let ts = START + Math.floor(rand() * 180 * 24 * HOUR);
    out.push({
      userId: `s${String(s + 1).padStart(width, '0')}`,
      items: items.map((r) => ({ id: products[r]!.id, rating: 5, ts: (ts += 60_000 + int(240_000)) })),
    });
  }
  return out;
}
