// The registry on real Postgres (scratch database + migrations) and a real artifact directory.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Pool } from 'pg';
import { createPool, migrateUp } from '@ranksafe/db';
import { ModelKind, type ModelVersionSpec } from '@ranksafe/proto';
import { scratchDatabase } from '@ranksafe/testing';
import {
  AlreadyExistsError,
  ArtifactIntegrityError,
  ArtifactMismatchError,
  CasConflictError,
  FailedPreconditionError,
  LocalArtifactStore,
  NotFoundError,
  Registry,
} from './index';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function* chunks(b: Buffer, size = 1000): AsyncIterable<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function readAll(r: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function spec(name: string, version: string, data: Buffer, extra: Partial<ModelVersionSpec> = {}): ModelVersionSpec {
  return {
    name,
    version,
    kind: ModelKind.MODEL_KIND_CROSS_ENCODER,
    framework: 'onnx',
    sizeBytes: data.length,
    sha256: sha(data),
    signature: { input: 'query,doc' },
    metrics: { ndcg10: 0.41 },
    lineage: undefined,
    ...extra,
  };
}

const artifact = (seed: string, n = 5000) => Buffer.from(seed.repeat(Math.ceil(n / seed.length)).slice(0, n));

describe('Registry on Postgres', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let pool: Pool;
  let root: string;
  let store: LocalArtifactStore;
  let reg: Registry;

  beforeAll(async () => {
    db = await scratchDatabase();
    await migrateUp(db.url);
    pool = createPool(db.url, { max: 12 });
    // pool.end() resolves before every socket has closed; the forced DROP DATABASE in afterAll
    // then kills those backends, which an idle client reports as a pool error. Ignore it here.
    pool.on('error', () => undefined);
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'rs-registry-'));
    store = await LocalArtifactStore.open(root);
    reg = new Registry(pool, store, { maxArtifactBytes: 1 << 20 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('registers a version and downloads the same bytes', async () => {
    const data = artifact('ranker-v1 ');
    const v = await reg.registerVersion(
      spec('ranker', 'v1', data, { lineage: { source: 'train.py', datasetSha256: sha(Buffer.from('d')), parentVersion: '' } }),
      chunks(data),
      'alice',
    );
    expect(v.createdBy).toBe('alice');
    expect(v.spec).toMatchObject({ name: 'ranker', version: 'v1', kind: ModelKind.MODEL_KIND_CROSS_ENCODER, sizeBytes: data.length });
    expect(v.spec!.lineage?.source).toBe('train.py');
    expect(await reg.getVersion('ranker', 'v1')).toEqual(v);
    const dl = await reg.openArtifact('ranker', 'v1');
    expect(dl.sha256).toBe(sha(data));
    expect(await readAll(dl.stream)).toEqual(data);
    const audit = await reg.listAudit({ name: 'ranker' });
    expect(audit.map((a) => [a.action, a.subject, a.actor])).toEqual([['register_version', 'ranker/v1', 'alice']]);
    await expect(reg.getVersion('ranker', 'nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses a mismatching upload and leaves neither row nor artifact', async () => {
    const data = artifact('bad ');
    const declared = spec('ranker', 'bad', data, { sha256: sha(Buffer.from('other')) });
    await expect(reg.registerVersion(declared, chunks(data), 'alice')).rejects.toBeInstanceOf(ArtifactMismatchError);
    await expect(reg.registerVersion(spec('ranker', 'bad', data, { sizeBytes: 10 }), chunks(data), 'alice')).rejects.toBeInstanceOf(ArtifactMismatchError);
    await expect(reg.getVersion('ranker', 'bad')).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.has(sha(data))).toBe(false);
    expect(fs.readdirSync(path.join(root, 'tmp'))).toEqual([]);
    expect((await reg.listAudit({ name: 'ranker' })).some((a) => a.subject === 'ranker/bad')).toBe(false);
  });

  it('refuses a duplicate name+version', async () => {
    const data = artifact('another ');
    await expect(reg.registerVersion(spec('ranker', 'v1', data), chunks(data), 'bob')).rejects.toBeInstanceOf(AlreadyExistsError);
    // Concurrent registrations of the same new version: exactly one wins.
    const d2 = artifact('race ');
    const results = await Promise.allSettled([1, 2, 3].map(() => reg.registerVersion(spec('ranker', 'v2', d2), chunks(d2), 'bob')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(AlreadyExistsError);
  });

  it('lists versions newest first with keyset pagination', async () => {
    for (const v of ['p1', 'p2', 'p3', 'p4', 'p5']) {
      const d = artifact(`pager ${v} `, 100);
      await reg.registerVersion(spec('pager', v, d), chunks(d), 'carol');
    }
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await reg.listVersions('pager', 2, token);
      seen.push(...page.versions.map((x) => x.spec!.version));
      token = page.nextPageToken;
      pages++;
    } while (token && pages < 10);
    expect(seen).toEqual(['p5', 'p4', 'p3', 'p2', 'p1']);
    expect(pages).toBe(3);
  });

  it('alias compare-and-set: of 10 concurrent writers with the same expectation exactly one wins', async () => {
    const d3 = artifact('ranker-v3 ');
    await reg.registerVersion(spec('ranker', 'v3', d3), chunks(d3), 'alice');
    const first = await reg.setAlias('ranker', 'production', 'v1', '', 'alice', 'first rollout');
    expect(first.version).toBe('v1');
    await expect(reg.setAlias('ranker', 'production', 'v2', '', 'bob', 'x')).rejects.toMatchObject({ currentVersion: 'v1' });

    const writers = Array.from({ length: 10 }, (_, i) => reg.setAlias('ranker', 'production', i % 2 ? 'v2' : 'v3', 'v1', `w${i}`, 'race'));
    const results = await Promise.allSettled(writers);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const winner = (won[0] as PromiseFulfilledResult<{ version: string }>).value.version;
    for (const r of results) {
      if (r.status === 'rejected') {
        expect(r.reason).toBeInstanceOf(CasConflictError);
        expect((r.reason as CasConflictError).currentVersion).toBe(winner);
      }
    }
    expect((await reg.resolveAlias('ranker', 'production')).version).toBe(winner);
    const hist = await reg.aliasHistory('ranker', 'production');
    expect(hist.map((h) => [h.version, h.previousVersion])).toEqual([
      [winner, 'v1'],
      ['v1', ''],
    ]);
    expect((await reg.listAudit({ name: 'ranker' })).filter((a) => a.action === 'set_alias')).toHaveLength(2);
    await expect(reg.setAlias('ranker', 'production', 'v9', winner, 'alice')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('answers "as of T" from the history', async () => {
    const a = await reg.setAlias('ranker', 'canary', 'v1', '', 'alice', 'canary v1');
    await new Promise((r) => setTimeout(r, 20));
    const between = new Date(a.updatedAtUnixMs + 10);
    await new Promise((r) => setTimeout(r, 20));
    const b = await reg.setAlias('ranker', 'canary', 'v2', 'v1', 'alice', 'canary v2');
    expect(b.updatedAtUnixMs).toBeGreaterThan(between.getTime());
    expect((await reg.resolveAlias('ranker', 'canary', between)).version).toBe('v1');
    expect((await reg.resolveAlias('ranker', 'canary', new Date(a.updatedAtUnixMs))).version).toBe('v1');
    expect((await reg.resolveAlias('ranker', 'canary', new Date(b.updatedAtUnixMs))).version).toBe('v2');
    expect((await reg.resolveAlias('ranker', 'canary')).version).toBe('v2');
    await expect(reg.resolveAlias('ranker', 'canary', new Date(a.updatedAtUnixMs - 1))).rejects.toBeInstanceOf(NotFoundError);
    await reg.removeAlias('ranker', 'canary', 'v2', 'alice', 'done');
    await expect(reg.resolveAlias('ranker', 'canary')).rejects.toBeInstanceOf(NotFoundError);
    expect((await reg.resolveAlias('ranker', 'canary', between)).version).toBe('v1');
    const windowed = await reg.listAudit({ name: 'ranker', since: new Date(a.updatedAtUnixMs), until: between });
    expect(windowed.map((x) => [x.action, x.subject])).toEqual([['set_alias', 'ranker@canary']]);
  });

  it('refuses to delete a version an alias points at, naming the aliases', async () => {
    const prod = (await reg.resolveAlias('ranker', 'production')).version;
    const err = await reg.deleteVersion('ranker', prod, 'alice').catch((e) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as FailedPreconditionError).aliases).toEqual(['production']);
    expect(err.message).toContain('production');
    expect((await reg.getVersion('ranker', prod)).spec!.version).toBe(prod);

    const free = prod === 'v2' ? 'v3' : 'v2';
    await reg.deleteVersion('ranker', free, 'alice');
    await expect(reg.getVersion('ranker', free)).rejects.toBeInstanceOf(NotFoundError);
    await expect(reg.deleteVersion('ranker', free, 'alice')).rejects.toBeInstanceOf(NotFoundError);
    expect((await reg.listAudit({ name: 'ranker', limit: 1 }))[0]).toMatchObject({ action: 'delete_version', subject: `ranker/${free}` });
  });

  it('detects a tampered artifact on download', async () => {
    const data = artifact('tamper me ', 20_000);
    await reg.registerVersion(spec('victim', 'v1', data), chunks(data), 'alice');
    const file = store.path(sha(data));
    fs.chmodSync(file, 0o644);
    const bytes = fs.readFileSync(file);
    bytes[12_345] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const dl = await reg.openArtifact('victim', 'v1');
    await expect(readAll(dl.stream)).rejects.toBeInstanceOf(ArtifactIntegrityError);
    fs.truncateSync(file, 100);
    await expect(readAll((await reg.openArtifact('victim', 'v1')).stream)).rejects.toBeInstanceOf(ArtifactIntegrityError);
    fs.rmSync(file);
    await expect(reg.openArtifact('victim', 'v1')).rejects.toBeInstanceOf(ArtifactIntegrityError);
  });
});
