// Convert a real catalog (or interaction log) into the ranksafe catalog files.
//   node --import tsx tools/data/import-catalog.ts --format wands|csv|jsonl|beauty-users --in <file-or-dir> --out <dir>
// wands:        WANDS products, either the full product.csv (tab-separated: product_id, product_name,
//               product_class, category hierarchy, product_description, product_features
//               ("key:value|key:value"), rating_count, average_rating, review_count) or the
//               products-slice.jsonl sample ({id,title,description,category,attrs,image}). No brand
//               or price in WANDS: brand "" and price 0. Literal \uXXXX escapes and UTF-8 mojibake
//               are repaired. Rows without an id or title are skipped (and counted).
// csv | jsonl:  a generic catalog read with readCatalog (strict: any bad row is an error).
// beauty-users: the Amazon Beauty sequences file (Beauty.txt: "user_id item_id item_id ..." per
//               line, in time order) → <out>/users.jsonl with rating 5 and ts = 1-based position.
// Products go to <out>/catalog.jsonl. Prints a one-line summary.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { type CatalogProduct, type UserHistory, parseCsv, parseProduct, readCatalog, writeCatalogJsonl, writeUsersJsonl } from '@ranksafe/retrieval-core';

const USAGE = 'usage: import-catalog.ts --format wands|csv|jsonl|beauty-users --in FILE|DIR --out DIR';
const FORMATS = ['wands', 'csv', 'jsonl', 'beauty-users'] as const;
type Format = (typeof FORMATS)[number];

// ---------------------------------------------------------------------------------------------
// Text repair

// Windows-1252 characters that stand for bytes 0x80–0x9f when UTF-8 was mis-decoded as cp1252.
const CP1252 = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';
const CONT = `[\\u0080-\\u00bf${CP1252.replace(/[\u0080-\u009f]/g, '')}]`;
const MOJIBAKE = new RegExp(`[\\u00c2-\\u00df]${CONT}|[\\u00e0-\\u00ef]${CONT}{2}|[\\u00f0-\\u00f4]${CONT}{3}`, 'g');
const utf8 = new TextDecoder('utf-8', { fatal: true });

function byteOf(ch: string): number {
  const c = ch.charCodeAt(0);
  if (c < 0x100) return c;
  const i = CP1252.indexOf(ch);
  return i >= 0 ? 0x80 + i : -1;
}

/**
 * Decodes literal `\u00e2`-style escapes, then repairs UTF-8 that was decoded as Latin-1 or
 * Windows-1252 ("itâ€™s" / "it\u00e2\u0080\u0099s" → "it’s"), NFC-normalises and collapses
 * whitespace. Sequences that are not valid UTF-8 are left as they are.
 */
export function cleanText(s: string): string {
  let out = s.replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  out = out.replace(MOJIBAKE, (seq) => {
    const bytes = [...seq].map(byteOf);
    if (bytes.some((b) => b < 0)) return seq;
    try {
      return utf8.decode(Uint8Array.from(bytes));
    } catch {
      return seq;
    }
  });
  return (
    out
      .normalize('NFC')
      // eslint-disable-next-line no-control-regex -- stripping control characters is the point of this expression
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

// ---------------------------------------------------------------------------------------------
// WANDS

interface ImportResult {
  products: CatalogProduct[];
  skipped: number;
  source: string;
}

class RowProblems {
  count = 0;
  add(msg: string): void {
    if (this.count++ < 5) console.error(`skipped: ${msg}`);
  }
}

/** "key:value|key : value| : value" → attributes; empty keys become "feature", repeated keys are joined. */
export function parseWandsFeatures(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split('|')) {
    const colon = part.indexOf(':');
    const key = cleanText(colon >= 0 ? part.slice(0, colon) : '') || 'feature';
    const value = cleanText(colon >= 0 ? part.slice(colon + 1) : part);
    if (!value) continue;
    out[key] = out[key] ? `${out[key]}, ${value}` : value;
  }
  return out;
}

function numberText(s: string | undefined): string {
  const t = (s ?? '').trim();
  if (!t || /^nan$/i.test(t)) return '';
  const n = Number(t);
  return Number.isFinite(n) ? String(n) : '';
}

function orEmpty(s: string | undefined): string {
  const t = s ?? '';
  return /^nan$/i.test(t.trim()) ? '' : cleanText(t);
}

/** The full WANDS product.csv (tab-separated, quoted like pandas writes it). */
export function importWandsCsv(file: string): ImportResult {
  const name = path.basename(file);
  const records = parseCsv(fs.readFileSync(file, 'utf8'), '\t');
  if (!records.length) throw new Error(`${name}: empty file`);
  const header = records[0]!.fields.map((h) => h.trim().toLowerCase().replace(/\s+/g, '_'));
  const col = (c: string) => header.indexOf(c);
  const idCol = col('product_id');
  const nameCol = col('product_name');
  if (idCol < 0 || nameCol < 0) {
    throw new Error(`${name} line 1: not a WANDS product file (expected product_id and product_name columns, got ${header.join(', ')})`);
  }
  const [classCol, hierCol, descCol, featCol] = ['product_class', 'category_hierarchy', 'product_description', 'product_features'].map(col);
  const [ratingCountCol, avgRatingCol, reviewCountCol] = ['rating_count', 'average_rating', 'review_count'].map(col);
  const problems = new RowProblems();
  const seen = new Set<string>();
  const products: CatalogProduct[] = [];
  for (const rec of records.slice(1)) {
    const where = `${name} line ${rec.line}`;
    if (rec.fields.length > header.length) {
      problems.add(`${where}: ${rec.fields.length} fields, header has ${header.length}`);
      continue;
    }
    const f = (c: number) => (c >= 0 ? rec.fields[c] : undefined);
    const hierarchy = orEmpty(f(hierCol))
      .split('/')
      .map((x) => x.trim())
      .filter(Boolean);
    const classes = orEmpty(f(classCol))
      .split('|')
      .map((x) => x.trim())
      .filter(Boolean);
    const features = f(featCol) ?? '';
    const attributes = parseWandsFeatures(/^nan$/i.test(features.trim()) ? '' : features);
    if (hierarchy.length) attributes.category_path = hierarchy.join(' > ');
    for (const [key, c] of [
      ['rating_count', ratingCountCol],
      ['average_rating', avgRatingCol],
      ['review_count', reviewCountCol],
    ] as const) {
      const v = numberText(f(c));
      if (v) attributes[key] = v;
    }
    try {
      const p = parseProduct(
        {
          id: orEmpty(f(idCol)),
          title: orEmpty(f(nameCol)),
          description: orEmpty(f(descCol)),
          category: classes.length ? classes.join(', ') : (hierarchy.at(-1) ?? ''),
          attributes,
        },
        where,
      );
      if (seen.has(p.id)) throw new Error(`${where}: duplicate id "${p.id}"`);
      seen.add(p.id);
      products.push(p);
    } catch (e) {
      problems.add((e as Error).message);
    }
  }
  return { products, skipped: problems.count, source: name };
}

/** The products-slice.jsonl sample: {id,title,description,category,attrs,image} per line. */
export function importWandsJsonl(file: string): ImportResult {
  const name = path.basename(file);
  const problems = new RowProblems();
  const seen = new Set<string>();
  const products: CatalogProduct[] = [];
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      const where = `${name} line ${i + 1}`;
      try {
        const o = JSON.parse(line) as Record<string, unknown>;
        const text = (v: unknown) => (typeof v === 'string' ? cleanText(v) : v);
        const attrs: Record<string, unknown> = {};
        const raw = o.attrs ?? o.attributes;
        if (raw && typeof raw === 'object') for (const [k, v] of Object.entries(raw)) attrs[k] = text(v);
        const p = parseProduct({ id: o.id, title: text(o.title), description: text(o.description), category: text(o.category), attributes: attrs }, where);
        if (seen.has(p.id)) throw new Error(`${where}: duplicate id "${p.id}"`);
        seen.add(p.id);
        products.push(p);
      } catch (e) {
        problems.add(e instanceof SyntaxError ? `${where}: invalid JSON (${e.message})` : (e as Error).message);
      }
    });
  return { products, skipped: problems.count, source: name };
}

function resolveInput(input: string, candidates: string[]): string {
  if (!fs.existsSync(input)) throw new Error(`--in ${input}: no such file or directory`);
  if (!fs.statSync(input).isDirectory()) return input;
  for (const c of candidates) {
    const f = path.join(input, c);
    if (fs.existsSync(f)) return f;
  }
  throw new Error(`--in ${input}: a directory without ${candidates.join(' or ')}`);
}

export function importWands(input: string): ImportResult {
  const file = resolveInput(input, ['product.csv', 'products.csv', 'product.tsv', 'products-slice.jsonl']);
  const ext = path.extname(file).toLowerCase();
  return ext === '.jsonl' || ext === '.ndjson' ? importWandsJsonl(file) : importWandsCsv(file);
}

// ---------------------------------------------------------------------------------------------
// Amazon Beauty sequences

export function importBeautyUsers(input: string): { users: UserHistory[]; source: string } {
  const file = resolveInput(input, ['Beauty.txt']);
  const name = path.basename(file);
  const users: UserHistory[] = [];
  const seen = new Set<string>();
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const parts = line.trim().split(/\s+/).filter(Boolean);
      if (!parts.length) return;
      const [userId, ...itemIds] = parts as [string, ...string[]];
      if (seen.has(userId)) throw new Error(`${name} line ${i + 1}: duplicate user "${userId}"`);
      seen.add(userId);
      users.push({ userId, items: itemIds.map((id, k) => ({ id, rating: 5, ts: k + 1 })) });
    });
  return { users, source: name };
}

// ---------------------------------------------------------------------------------------------
// CLI

function mb(file: string): string {
  return `${(fs.statSync(file).size / 1048576).toFixed(1)} MB`;
}

function main() {
  const { values } = parseArgs({ options: { format: { type: 'string' }, in: { type: 'string' }, out: { type: 'string' } } });
  const format = values.format as Format | undefined;
  if (!format || !values.in || !values.out) throw new Error(USAGE);
  if (!FORMATS.includes(format)) throw new Error(`--format must be one of ${FORMATS.join(', ')} (got "${format}")\n${USAGE}`);
  const t0 = performance.now();
  const secs = () => ((performance.now() - t0) / 1000).toFixed(1);

  if (format === 'beauty-users') {
    const { users, source } = importBeautyUsers(values.in);
    const out = path.join(values.out, 'users.jsonl');
    writeUsersJsonl(out, users);
    const n = users.reduce((s, u) => s + u.items.length, 0);
    const items = new Set(users.flatMap((u) => u.items.map((it) => it.id))).size;
    console.log(`imported ${users.length} users / ${n} interactions over ${items} items from ${source} → ${out} (${mb(out)}) in ${secs()} s`);
    return;
  }

  let result: ImportResult;
  if (format === 'wands') result = importWands(values.in);
  else {
    const file = resolveInput(values.in, format === 'csv' ? ['catalog.csv', 'catalog.tsv'] : ['catalog.jsonl']);
    result = { products: readCatalog(file), skipped: 0, source: path.basename(file) };
  }
  if (!result.products.length) throw new Error(`${result.source}: no products imported`);
  const out = path.join(values.out, 'catalog.jsonl');
  writeCatalogJsonl(out, result.products);
  const cats = new Set(result.products.map((p) => p.category)).size;
  console.log(
    `imported ${result.products.length} products (${cats} categories${result.skipped ? `, skipped ${result.skipped} rows` : ''}) from ${format} ${result.source} → ${out} (${mb(out)}) in ${secs()} s`,
  );
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
