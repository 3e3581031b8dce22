// Write a deterministic synthetic shop catalog and user histories.
//   node --import tsx tools/data/generate-catalog.ts --out <dir> [--products 100000] [--users 2000] [--seed 42] [--judged-queries 200]
// Writes <dir>/catalog.jsonl, <dir>/users.jsonl and <dir>/judged-queries.json (graded queries for
// the quality gate: 2 = leaf category and attribute value, 1 = leaf category, 0 = other) and prints a one-line summary.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { generateCatalog, judgedQuerySet, writeCatalogJsonl, writeUsersJsonl } from '@ranksafe/retrieval-core';

const USAGE = 'usage: generate-catalog.ts --out DIR [--products 100000] [--users 2000] [--seed 42] [--judged-queries 200]';

function intArg(name: string, v: string, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min} (got "${v}")\n${USAGE}`);
  return n;
}

function mb(file: string): string {
  return `${(fs.statSync(file).size / 1048576).toFixed(1)} MB`;
}

function main() {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      products: { type: 'string', default: '100000' },
      users: { type: 'string', default: '2000' },
      seed: { type: 'string', default: '42' },
      'judged-queries': { type: 'string', default: '200' },
    },
  });
  if (!values.out) throw new Error(USAGE);
  const t0 = performance.now();
  const seed = intArg('seed', values.seed, 0);
  const nJudged = intArg('judged-queries', values['judged-queries'], 0);
  const { products, users } = generateCatalog({
    products: intArg('products', values.products, 1),
    users: intArg('users', values.users, 0),
    seed,
  });
  const catalogFile = path.join(values.out, 'catalog.jsonl');
  const usersFile = path.join(values.out, 'users.jsonl');
  writeCatalogJsonl(catalogFile, products);
  writeUsersJsonl(usersFile, users);
  const judged = judgedQuerySet(products, { seed, queries: nJudged, source: `synthetic demo shop (seed ${seed}, ${products.length} products)` });
  const judgedFile = path.join(values.out, 'judged-queries.json');
  if (nJudged > 0) fs.writeFileSync(judgedFile, `${JSON.stringify(judged)}\n`);
  const interactions = users.reduce((s, u) => s + u.items.length, 0);
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(
    `generated ${products.length} products (${mb(catalogFile)}) and ${users.length} users / ${interactions} interactions (${mb(usersFile)})${nJudged > 0 ? `, ${judged.queries.length} judged queries` : ''} in ${secs} s → ${values.out}`,
  );
}

try {
  main();
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
