// Shared by the benchmark scripts: real data location, tables, JSON reports.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WORKSPACE_ROOT } from '@ranksafe/platform';

/** ../shared/data beside the checkout (RANKSAFE_SHARED_DATA overrides); undefined when absent. */
export function sharedData(): string | undefined {
  const dir = process.env.RANKSAFE_SHARED_DATA ?? path.resolve(WORKSPACE_ROOT, '..', 'shared', 'data');
  return fs.existsSync(dir) ? dir : undefined;
}

export interface WandsSlice {
  products: Array<{ id: string; title: string; description: string; category: string }>;
  qrels: Record<string, { query: string; grades: Record<string, number> }>;
}

export function loadWandsSlice(): WandsSlice | undefined {
  const dir = sharedData();
  if (!dir || !fs.existsSync(path.join(dir, 'wands', 'qrels-slice.json'))) return undefined;
  const products = fs
    .readFileSync(path.join(dir, 'wands', 'products-slice.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const qrels = JSON.parse(fs.readFileSync(path.join(dir, 'wands', 'qrels-slice.json'), 'utf8'));
  return { products, qrels };
}

export function printTable(title: string, header: string[], rows: Array<Array<string | number>>): void {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? (Number.isInteger(c) ? String(c) : c.toFixed(2)) : c)));
  const w = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(line(w.map((n) => '-'.repeat(n))));
  for (const r of cells) console.log(line(r));
}

export function writeReport(name: string, data: unknown): string {
  const dir = path.join(WORKSPACE_ROOT, '.data', 'bench');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), ...(data as object) }, null, 2));
  return file;
}
