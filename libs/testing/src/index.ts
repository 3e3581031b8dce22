// Helpers for integration tests: real Postgres, real Temporal, no mocks of either.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { temporal as TemporalProto } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { dropDatabase, ensureDatabase, withDatabase } from '@ranksafe/db';
import { locateTemporalCli, locateTemporalTestServer, WORKSPACE_ROOT } from '@ranksafe/platform';
import type { CatalogProduct, UserHistory } from '@ranksafe/retrieval-core';

/** The Postgres server tests use: DATABASE_URL (set by `npm test`), else the local one. */
export const testServerUrl = () => process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh database for one test file; call drop() in afterAll. */
export async function scratchDatabase(prefix = 'rs_test'): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = testServerUrl();
  await ensureDatabase(admin, name);
  return { url: withDatabase(admin, name), name, drop: () => dropDatabase(admin, name) };
}

/**
 * A Temporal environment on the real dev server: the one `npm test` started (TEMPORAL_ADDRESS),
 * else a new one from the official CLI binary (existing-path, never a download).
 */
export async function temporalDevEnv(): Promise<TestWorkflowEnvironment> {
  quietTemporalRuntime();
  if (process.env.TEMPORAL_ADDRESS) {
    return TestWorkflowEnvironment.createFromExistingServer({ address: process.env.TEMPORAL_ADDRESS });
  }
  return TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: locateTemporalCli() }, ip: '127.0.0.1' },
  });
}

/** The Java time-skipping test server (existing-path), for workflow tests with long timers. */
export async function temporalTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  quietTemporalRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: locateTemporalTestServer() } },
  });
  // The dev server gets ranksafe's search attributes on its command line; the test server here.
  const { SEARCH_ATTRIBUTE_TYPES } = await import('@ranksafe/workflows');
  const { temporal } = await import('@temporalio/proto');
  const types = temporal.api.enums.v1.IndexedValueType;
  const indexed = {
    Keyword: types.INDEXED_VALUE_TYPE_KEYWORD,
    Text: types.INDEXED_VALUE_TYPE_TEXT,
    Int: types.INDEXED_VALUE_TYPE_INT,
    Double: types.INDEXED_VALUE_TYPE_DOUBLE,
    Bool: types.INDEXED_VALUE_TYPE_BOOL,
    Datetime: types.INDEXED_VALUE_TYPE_DATETIME,
  };
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.entries(SEARCH_ATTRIBUTE_TYPES).map(([k, t]) => [k, indexed[t]])),
  });
  return env;
}

/** Poll `check` until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, everyMs = 100): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Keep the Temporal SDK's INFO chatter (worker state changes ...) out of test output. */
function quietTemporalRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    /* already installed in this test file */
  }
}

// Real evaluation data in ../shared/data (never copied into the repository).
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

/**
 * A real catalog index built once into .data/test-fixtures/<name> (products embedded with the real model)
 * and reused; `build` gives its products and users the first time.
 */
async function cachedTestIndex(
  name: string,
  build: () => { products: CatalogProduct[]; users: UserHistory[]; source: string },
): Promise<{ root: string; dir: string; version: string }> {
  const { buildCatalogIndex, readIndexManifest } = await import('@ranksafe/retrieval-core');
  const root = path.join(WORKSPACE_ROOT, '.data', 'test-fixtures', name);
  try {
    const { dir, manifest } = readIndexManifest(root);
    return { root, dir, version: manifest.version };
  } catch {
    // not built yet (or stale): build it
  }
  const { dir, manifest } = await buildCatalogIndex({ ...build(), out: root, modelDir: path.join(WORKSPACE_ROOT, 'models', 'minilm-l6-v2'), publish: true });
  return { root, dir, version: manifest.version };
}

/** A synthetic catalog of `products` products and `users` users (see cachedTestIndex). */
export async function testCatalogIndex(opts: { products: number; users: number; seed?: number }): Promise<{ root: string; dir: string; version: string }> {
  const { generateCatalog } = await import('@ranksafe/retrieval-core');
  const seed = opts.seed ?? 7;
  return cachedTestIndex(`catalog-${opts.products}-${opts.users}-${seed}`, () => ({
    ...generateCatalog({ products: opts.products, users: opts.users, seed }),
    source: `synthetic seed ${seed}`,
  }));
}

// Committed workflow histories for replay tests (libs/workflows/test/histories).
/** Where replay histories live; `RECORD_HISTORIES=1 npx nx test workflows` rewrites them. */
export const HISTORIES_DIR = path.join(WORKSPACE_ROOT, 'libs', 'workflows', 'test', 'histories');

/**
 * Record a closed workflow's history for the replay test, when RECORD_HISTORIES=1. Name it after
 * what it shows ("recovery-compensated"); the file is `<name>.history.pb`.
 */
export async function recordHistory(handle: { fetchHistory(): Promise<unknown> }, name: string): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  // Protobuf binary: @temporalio/common's historyToJSON breaks on its nested protobufjs copy here.
  const { temporal } = await import('@temporalio/proto');
  fs.mkdirSync(HISTORIES_DIR, { recursive: true });
  const history = (await handle.fetchHistory()) as TemporalProto.api.history.v1.IHistory;
  fs.writeFileSync(path.join(HISTORIES_DIR, `${name}.history.pb`), temporal.api.history.v1.History.encode(history).finish());
}

/**
 * Headless Chromium for browser tests: Debian's `chromium` (CHROMIUM_PATH, default /usr/bin/chromium;
 * `npm run setup` installs it) driven by playwright-core — never a Playwright browser download.
 */
export async function launchBrowser(): Promise<import('playwright-core').Browser> {
  const { chromium } = await import('playwright-core');
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!fs.existsSync(executablePath))
    throw new Error(`no Chromium at ${executablePath}: run \`npm run setup\` (it installs Debian's chromium) or set CHROMIUM_PATH`);
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
}

/** Where browser tests keep a screenshot for a person to look at: .data/screenshots/<name>.png. */
export function screenshotPath(name: string): string {
  const dir = path.join(WORKSPACE_ROOT, '.data', 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, `${name}.png`);
}

// A small, learnable shop for the sequential recommender: a ring of items walked in order.
/** The committed sequential-recommender fixture: tools/seqrec trained on ringWalk() (see its README.md). */
export const SEQREC_FIXTURE_DIR = path.join(WORKSPACE_ROOT, 'libs', 'testing', 'fixtures', 'seqrec-walk');
export const RING_ITEMS = 40;

/**
 * Users walk a ring of 40 items (i0 … i39) in steps of 1 (four in five) or 2, from a random start, for
 * 5 to 12 items: the next item is learnable. Deterministic (an LCG, seed 7).
 */
export function ringWalk(users = 400): Array<{ userId: string; items: string[] }> {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const out: Array<{ userId: string; items: string[] }> = [];
  for (let u = 0; u < users; u++) {
    const step = rand() < 0.8 ? 1 : 2;
    let item = Math.floor(rand() * RING_ITEMS);
    const items: string[] = [];
    for (let k = 0, n = 5 + Math.floor(rand() * 8); k < n; k++, item = (item + step) % RING_ITEMS) items.push(`i${item}`);
    out.push({ userId: `u${u}`, items });
  }
  return out;
}

/** ringWalk() as tools/seqrec reads it: one user a line, `user_id item_id ...` in time order. */
export function writeRingWalkFile(file: string, users = 400): void {
  fs.writeFileSync(
    file,
    ringWalk(users)
      .map((u) => `${u.userId} ${u.items.join(' ')}`)
      .join('\n') + '\n',
  );
}

/** The ring's products: even items in "Ring > Even", odd in "Ring > Odd"; brand ring-<n mod 4>; price n + 1. */
export function ringProducts() {
  return Array.from({ length: RING_ITEMS }, (_, n) => ({
    id: `i${n}`,
    title: `ring item ${n}`,
    description: `item number ${n} on the ring`,
    category: `Ring > ${n % 2 ? 'Odd' : 'Even'}`,
    brand: `ring-${n % 4}`,
    price: n + 1,
    attributes: {},
  }));
}

/**
 * A real catalog index of the ring's products (embedded with the real model) whose users are ringWalk()'s
 * (and `u-gone`, whose two items are not in the catalog),
 * built once into .data/test-fixtures and reused: what the sequential-recommender fixture serves.
 */
export async function ringCatalogIndex(): Promise<{ root: string; dir: string; version: string }> {
  return cachedTestIndex(`ring-${RING_ITEMS}`, () => {
    const users = ringWalk().map((u) => ({ userId: u.userId, items: u.items.map((id, k) => ({ id, rating: 5, ts: 1_700_000_000_000 + k * 60_000 })) }));
    // A shopper whose items the catalog no longer sells: nothing personal is left to recommend from.
    users.push({ userId: 'u-gone', items: ['gone-1', 'gone-2'].map((id, k) => ({ id, rating: 4, ts: 1_700_000_000_000 + k * 60_000 })) });
    return { products: ringProducts(), users, source: 'ring walk (libs/testing)' };
  });
}
