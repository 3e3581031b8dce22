// Shared by the benchmark scripts: real data location, tables, JSON reports.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WORKSPACE_ROOT } from '@ranksafe/platform';

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
