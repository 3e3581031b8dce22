// Shared by the benchmark scripts: real data location, tables, JSON reports.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WORKSPACE_ROOT } from '@ranksafe/platform';

import { mulberry32 } from '@ranksafe/retrieval-core';
import { sharedData } from '@ranksafe/testing';

export { loadWandsSlice, sharedData, type WandsSlice } from '@ranksafe/testing';

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

/**
 * A realistic query workload: the real WANDS queries when ../shared/data is there (up to half of
 * n), the rest 2–3 word slices of catalog titles (deterministic).
 */
export function queryWorkload(titles: string[], n: number): string[] {
  const rnd = mulberry32(123);
  const out: string[] = [];
  const shared = sharedData();
  const wands = shared && path.join(shared, 'wands', 'query.csv');
  if (wands && fs.existsSync(wands)) {
    for (const line of fs.readFileSync(wands, 'utf8').split('\n').slice(1)) {
      const q = line.split('\t')[1]?.trim();
      if (q) out.push(q);
    }
  }
  out.splice(Math.floor(n / 2));
  while (out.length < n) {
    const words = titles[Math.floor(rnd() * titles.length)]!.replace(/[^\p{L}\p{N} ]/gu, ' ')
      .split(/\s+/)
      .filter(Boolean);
    const len = 2 + Math.floor(rnd() * 2);
    const start = Math.floor(rnd() * Math.max(1, words.length - len));
    out.push(
      words
        .slice(start, start + len)
        .join(' ')
        .toLowerCase(),
    );
  }
  return out;
}
