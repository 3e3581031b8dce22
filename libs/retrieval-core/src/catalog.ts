// Catalog data model and file I/O shared by the tools (generators, importers, benches) and the
// retrieval-service: products, user interaction histories, and the product text that gets
// indexed and embedded. No dependencies beyond node:fs / node:path.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface CatalogProduct {
  id: string;
  title: string;
  description: string;
  /** Category path, top level first, e.g. "Furniture > Sofas" (or a flat name for imported data). */
  category: string;
  /** "" when unknown. */
  brand: string;
  /** 0 when unknown. */
  price: number;
  attributes: Record<string, string>;
}

export interface UserInteraction {
  id: string;
  /** 1–5. */
  rating: number;
  /** Unix milliseconds. */
  ts: number;
}

export interface UserHistory {
  userId: string;
  /** In time order (non-decreasing ts). */
  items: UserInteraction[];
}

// ---------------------------------------------------------------------------------------------
// Product text

/**
 * How many description words productText keeps by default. The text is BERT-encoded for every
 * product and every cold candidate, and encoding cost grows with length (on 2 cores, int8:
 * ~330 texts/s with no description words, ~210 with 12, far fewer with 30), so the default is
 * title, brand and category only. A catalog index records the value it was built with.
 */
export const PRODUCT_TEXT_DESCRIPTION_WORDS = 0;

/**
 * The text that is embedded and ranked for a product: `title | brand | category | first words of
 * the description`, empty parts left out, whitespace collapsed.
 */
export function productText(
  p: { title: string; category: string; brand?: string; description?: string },
  descriptionWords = PRODUCT_TEXT_DESCRIPTION_WORDS,
): string {
  const parts = [p.title, p.brand ?? '', p.category].map(squash).filter(Boolean);
  const desc = descriptionWords > 0 ? squash(p.description ?? '') : '';
  if (desc) {
    const words = desc.split(' ');
    parts.push(words.length > descriptionWords ? words.slice(0, descriptionWords).join(' ') : desc);
  }
  return parts.join(' | ');
}

function squash(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

// ---------------------------------------------------------------------------------------------
// Validation

function fail(where: string, msg: string): never {
  throw new Error(`${where}: ${msg}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Strings are trimmed, finite numbers stringified; missing/null → undefined; anything else is an error. */
function optText(obj: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return fail(where, `${key} must be a string`);
}

function attrValue(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v))
    return v
      .map(attrValue)
      .filter((s) => s)
      .join(', ');
  return JSON.stringify(v);
}

function parseAttributes(v: unknown, where: string): Record<string, string> {
  if (v === undefined || v === null || v === '') return {};
  let obj = v;
  if (typeof v === 'string') {
    try {
      obj = JSON.parse(v);
    } catch {
      return fail(where, 'attributes must be a JSON object');
    }
  }
  if (!isRecord(obj)) return fail(where, 'attributes must be an object');
  const out: Record<string, string> = {};
  for (const [k, raw] of Object.entries(obj)) {
    const key = k.trim();
    const val = attrValue(raw);
    if (key && val) out[key] = val;
  }
  return out;
}

function parsePrice(v: unknown, where: string): number {
  if (v === undefined || v === null) return 0;
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const s = v.trim();
    if (s === '') return 0;
    n = /^[+]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s) ? Number(s) : NaN;
  } else n = NaN;
  if (!Number.isFinite(n) || n < 0) return fail(where, 'price must be a non-negative number');
  return n;
}

/**
 * Validates and normalises one product record (from JSON or a CSV row turned object). Strings are
 * trimmed; id and title are required; brand/description/category default to ""; price defaults to
 * 0 and must be a finite non-negative number (numeric strings accepted); `attributes` (or `attrs`)
 * may be an object or a JSON string, and its values are stringified. Throws an Error that starts
 * with `where`.
 */
export function parseProduct(obj: unknown, where: string): CatalogProduct {
  if (!isRecord(obj)) fail(where, 'expected a JSON object');
  const id = optText(obj, 'id', where);
  if (!id) fail(where, 'id is required');
  const title = optText(obj, 'title', where);
  if (!title) fail(where, `title is required (id ${id})`);
  const attributes = parseAttributes(obj.attributes ?? obj.attrs, where);
  return {
    id,
    title,
    description: optText(obj, 'description', where) ?? '',
    category: optText(obj, 'category', where) ?? '',
    brand: optText(obj, 'brand', where) ?? '',
    price: parsePrice(obj.price, where),
    attributes,
  };
}

/** Validates one user history; items are stably sorted into time order. */
export function parseUser(obj: unknown, where: string): UserHistory {
  if (!isRecord(obj)) fail(where, 'expected a JSON object');
  const userId = optText(obj, 'userId', where);
  if (!userId) fail(where, 'userId is required');
  if (!Array.isArray(obj.items)) fail(where, 'items must be an array');
  const items = obj.items.map((it, i): UserInteraction => {
    const w = `${where} item ${i}`;
    if (!isRecord(it)) fail(w, 'expected an object');
    const id = optText(it, 'id', w);
    if (!id) fail(w, 'id is required');
    const rating = it.rating;
    if (typeof rating !== 'number' || !Number.isFinite(rating) || rating < 0) fail(w, 'rating must be a non-negative number');
    const ts = it.ts;
    if (typeof ts !== 'number' || !Number.isFinite(ts)) fail(w, 'ts must be a number (unix ms)');
    return { id, rating, ts };
  });
  let sorted = true;
  for (let i = 1; i < items.length && sorted; i++) sorted = items[i - 1]!.ts <= items[i]!.ts;
  if (!sorted) items.sort((a, b) => a.ts - b.ts); // Array.prototype.sort is stable
  return { userId, items };
}

// ---------------------------------------------------------------------------------------------
// CSV

export interface CsvRecord {
  fields: string[];
  /** 1-based physical line where the record starts. */
  line: number;
}

/**
 * RFC 4180-style parser: fields separated by `delimiter`, optionally wrapped in double quotes; a
 * quoted field may hold delimiters, newlines and doubled quotes (""). A quote that does not open
 * a field is kept literally. CRLF, LF and a leading BOM are accepted. Throws on an unterminated
 * quoted field.
 */
export function parseCsv(text: string, delimiter = ','): CsvRecord[] {
  const records: CsvRecord[] = [];
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const D = delimiter.charCodeAt(0);
  const Q = 34; // "
  const LF = 10;
  const CR = 13;
  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    let endOfRecord = false;
    while (!endOfRecord) {
      if (i < n && text.charCodeAt(i) === Q) {
        // Quoted field.
        const openLine = line;
        let value = '';
        let j = i + 1;
        for (;;) {
          const q = text.indexOf('"', j);
          if (q < 0) throw new Error(`line ${openLine}: unterminated quoted field`);
          const chunk = text.slice(j, q);
          for (let k = chunk.indexOf('\n'); k >= 0; k = chunk.indexOf('\n', k + 1)) line++;
          value += chunk;
          if (text.charCodeAt(q + 1) === Q) {
            value += '"';
            j = q + 2;
          } else {
            i = q + 1;
            break;
          }
        }
        // Anything between the closing quote and the next delimiter/newline is appended as-is.
        let k = i;
        while (k < n) {
          const c = text.charCodeAt(k);
          if (c === D || c === LF || c === CR) break;
          k++;
        }
        value += text.slice(i, k);
        i = k;
        fields.push(value);
      } else {
        let k = i;
        while (k < n) {
          const c = text.charCodeAt(k);
          if (c === D || c === LF || c === CR) break;
          k++;
        }
        fields.push(text.slice(i, k));
        i = k;
      }
      // i is at a delimiter, a line break, or the end.
      if (i >= n) endOfRecord = true;
      else {
        const c = text.charCodeAt(i);
        if (c === D) i++;
        else {
          i += c === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
          line++;
          endOfRecord = true;
        }
      }
    }
    if (fields.length === 1 && fields[0] === '') continue; // blank line
    records.push({ fields, line: startLine });
  }
  return records;
}

/** Delimiter for a delimited-text file: tab for .tsv/.tab, else tab when the header has tabs but no commas. */
export function csvDelimiter(file: string, text: string): string {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.tsv' || ext === '.tab') return '\t';
  const nl = text.indexOf('\n');
  const header = nl < 0 ? text : text.slice(0, nl);
  return header.includes('\t') && !header.includes(',') ? '\t' : ',';
}

const PRODUCT_COLUMNS = new Set(['id', 'title', 'description', 'category', 'brand', 'price', 'attributes']);

/** CSV/TSV rows → products: extra columns become attributes (empty cells skipped). */
function productsFromCsv(text: string, delimiter: string, name: string): Array<{ product: CatalogProduct; where: string }> {
  const records = parseCsv(text, delimiter);
  if (records.length === 0) throw new Error(`${name}: empty file (expected a header row)`);
  const header = records[0]!.fields.map((h) => h.trim());
  const lower = header.map((h) => h.toLowerCase());
  for (const req of ['id', 'title']) {
    if (!lower.includes(req)) throw new Error(`${name} line 1: header must have an "${req}" column (got ${header.join(', ')})`);
  }
  const seen = new Set<string>();
  for (const h of lower) {
    if (PRODUCT_COLUMNS.has(h) && seen.has(h)) throw new Error(`${name} line 1: duplicate column "${h}"`);
    seen.add(h);
  }
  const out: Array<{ product: CatalogProduct; where: string }> = [];
  for (const rec of records.slice(1)) {
    const where = `${name} line ${rec.line}`;
    if (rec.fields.length !== header.length) {
      throw new Error(`${where}: expected ${header.length} fields, got ${rec.fields.length}`);
    }
    const obj: Record<string, unknown> = {};
    const extra: Record<string, string> = {};
    rec.fields.forEach((v, c) => {
      if (PRODUCT_COLUMNS.has(lower[c]!)) obj[lower[c]!] = v;
      else if (header[c] && v.trim()) extra[header[c]!] = v.trim();
    });
    const product = parseProduct(obj, where);
    product.attributes = { ...extra, ...product.attributes };
    out.push({ product, where });
  }
  return out;
}

function jsonLines(text: string, name: string): Array<{ value: unknown; where: string }> {
  const out: Array<{ value: unknown; where: string }> = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (!l) continue;
    const where = `${name} line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(l);
    } catch (e) {
      throw new Error(`${where}: invalid JSON (${(e as Error).message})`);
    }
    out.push({ value, where });
  }
  return out;
}

function readText(file: string): string {
  const text = fs.readFileSync(file, 'utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

// ---------------------------------------------------------------------------------------------
// Files

/**
 * Reads a catalog: `.jsonl` (one product object per line, blank lines ignored) or `.csv`/`.tsv`
 * (header row with id,title and optionally description,category,brand,price,attributes (JSON);
 * any other column becomes an attribute). Duplicate ids are an error.
 */
export function readCatalog(file: string): CatalogProduct[] {
  const name = path.basename(file);
  const ext = path.extname(file).toLowerCase();
  const text = readText(file);
  let rows: Array<{ product: CatalogProduct; where: string }>;
  if (ext === '.jsonl' || ext === '.ndjson') {
    rows = jsonLines(text, name).map(({ value, where }) => ({ product: parseProduct(value, where), where }));
  } else if (ext === '.csv' || ext === '.tsv' || ext === '.tab') {
    rows = productsFromCsv(text, csvDelimiter(file, text), name);
  } else {
    throw new Error(`${name}: unsupported catalog format "${ext}" (use .jsonl, .csv or .tsv)`);
  }
  return assertUniqueIds(rows);
}

function assertUniqueIds(rows: Array<{ product: CatalogProduct; where: string }>): CatalogProduct[] {
  const first = new Map<string, string>();
  for (const { product, where } of rows) {
    const prev = first.get(product.id);
    if (prev !== undefined) throw new Error(`${where}: duplicate id "${product.id}" (first at ${prev})`);
    first.set(product.id, where);
  }
  return rows.map((r) => r.product);
}

/** Reads user histories from JSON lines (`{userId, items:[{id,rating,ts}]}`); duplicate userIds are an error. */
export function readUsers(file: string): UserHistory[] {
  const name = path.basename(file);
  const seen = new Map<string, string>();
  return jsonLines(readText(file), name).map(({ value, where }) => {
    const u = parseUser(value, where);
    const prev = seen.get(u.userId);
    if (prev !== undefined) throw new Error(`${where}: duplicate userId "${u.userId}" (first at ${prev})`);
    seen.set(u.userId, where);
    return u;
  });
}

/**
 * Writes JSON lines atomically: to a temp file beside `file`, then rename. Lines are written in
 * ~1 MiB chunks so large catalogs never become one giant string.
 */
export function writeJsonLines(file: string, rows: Iterable<unknown>): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now().toString(36)}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    let buf: string[] = [];
    let size = 0;
    for (const r of rows) {
      const l = JSON.stringify(r);
      buf.push(l);
      size += l.length + 1;
      if (size >= 1 << 20) {
        fs.writeSync(fd, `${buf.join('\n')}\n`);
        buf = [];
        size = 0;
      }
    }
    if (buf.length) fs.writeSync(fd, `${buf.join('\n')}\n`);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Writes products as JSON lines, fields in CatalogProduct order (atomic: temp file + rename). */
export function writeCatalogJsonl(file: string, products: Iterable<CatalogProduct>): void {
  writeJsonLines(
    file,
    (function* () {
      for (const p of products) {
        yield { id: p.id, title: p.title, description: p.description, category: p.category, brand: p.brand, price: p.price, attributes: p.attributes };
      }
    })(),
  );
}

/** Writes user histories as JSON lines (atomic: temp file + rename). */
export function writeUsersJsonl(file: string, users: Iterable<UserHistory>): void {
  writeJsonLines(
    file,
    (function* () {
      for (const u of users) yield { userId: u.userId, items: u.items.map((it) => ({ id: it.id, rating: it.rating, ts: it.ts })) };
    })(),
  );
}
