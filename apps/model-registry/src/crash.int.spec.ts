// Crash safety of the model registry: the real server process is SIGKILLed in the middle of 1000
// concurrent streamed uploads, restarted on the same database and artifact directory, and then
// every acknowledged registration must be intact, no partial artifact may be visible, every
// version row must have its artifact, and every unacknowledged one must be all there or absent.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createPool } from '@ranksafe/db';
import { freePort, WORKSPACE_ROOT } from '@ranksafe/platform';
import { ModelKind, ModelRegistryClient, RegisterVersionRequest, type ArtifactChunk, type ModelVersion } from '@ranksafe/proto';
import { adminMetadata, unaryCall, waitForServing } from '@ranksafe/serving-kit';
import { scratchDatabase } from '@ranksafe/testing';

const TOKEN = 'registry-crash-test-admin-token';
const MODEL = 'crash';
const UPLOADS = 1000;
const IN_FLIGHT = UPLOADS; // all 1000 registrations run at once
/** Bytes per upload message: several messages per artifact, so uploads are cut mid-stream. */
const UPLOAD_CHUNK = 16 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const versionOf = (i: number) => `v${String(i + 1).padStart(4, '0')}`;

interface Registry {
  child: ChildProcess;
  address: string;
  exited: Promise<NodeJS.Signals | number | null>;
  stderr: () => string;
}

/** Start `node --import tsx apps/model-registry/src/main.ts` and wait until it is SERVING. */
async function startRegistryProcess(env: Record<string, string>): Promise<Registry> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('apps', 'model-registry', 'src', 'main.ts')], {
    cwd: WORKSPACE_ROOT,
    env: { ...process.env, ...env, GRPC_HOST: '127.0.0.1', GRPC_PORT: String(port), METRICS_PORT: '-1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8000);
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  const address = `127.0.0.1:${port}`;
  const serving = await Promise.race([waitForServing(address, 90_000), exited.then(() => false)]);
  if (!serving) {
    child.kill('SIGKILL');
    throw new Error(`the registry did not become SERVING on ${address}; stderr:\n${err}`);
  }
  return { child, address, exited, stderr: () => err };
}

/** Every regular file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

describe('model-registry crash safety (SIGKILL during 1000 concurrent uploads)', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let artifacts: string;
  let running: Registry | undefined;
  const clients: ModelRegistryClient[] = [];

  beforeAll(async () => {
    db = await scratchDatabase('rs_registry_crash');
    artifacts = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-crash-'));
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    if (running && running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill('SIGTERM');
      const t = setTimeout(() => running?.child.kill('SIGKILL'), 10_000);
      await running.exited;
      clearTimeout(t);
    }
    await db?.drop();
    if (artifacts) fs.rmSync(artifacts, { recursive: true, force: true });
  }, 60_000);

  it('keeps every acknowledged registration and never exposes a partial one', async () => {
    const t0 = Date.now();
    const env = { DATABASE_URL: db.url, REGISTRY_ARTIFACT_DIR: artifacts, ADMIN_TOKEN: TOKEN, DB_CHECK_INTERVAL_MS: '1000' };
    running = await startRegistryProcess(env);
    const first = running;
    const client = new ModelRegistryClient(first.address, grpc.credentials.createInsecure());
    clients.push(client);

    const payloads = Array.from({ length: UPLOADS }, () => randomBytes(randomInt(4 * 1024, 64 * 1024 + 1)));
    const hashes = payloads.map(sha);
    const killAt = randomInt(200, 401);
    const acked = new Map<number, ModelVersion>();
    const failed = new Map<number, grpc.ServiceError>();
    const failedBeforeKill: string[] = [];
    let launched = 0;
    let next = 0;
    let killedAt = 0;

    const md = () => {
      const m = adminMetadata(new grpc.Metadata(), TOKEN);
      m.set('x-actor', 'crash-test');
      return m;
    };
    const register = (i: number): Promise<ModelVersion> =>
      new Promise((resolve, reject) => {
        const bytes = payloads[i]!;
        const call = client.registerVersion(md(), { deadline: Date.now() + 60_000 }, (err, res) => (err ? reject(err) : resolve(res!)));
        call.on('error', () => undefined); // the callback reports it
        call.write(
          RegisterVersionRequest.fromPartial({
            part: {
              $case: 'spec',
              value: {
                name: MODEL,
                version: versionOf(i),
                kind: ModelKind.MODEL_KIND_BI_ENCODER,
                framework: 'onnx',
                sizeBytes: bytes.length,
                sha256: hashes[i]!,
              },
            },
          }),
        );
        for (let off = 0; off < bytes.length; off += UPLOAD_CHUNK) call.write({ part: { $case: 'chunk', value: bytes.subarray(off, off + UPLOAD_CHUNK) } });
        call.end();
      });

    const worker = async () => {
      while (!killedAt && next < UPLOADS) {
        const i = next++;
        launched++;
        try {
          const mv = await register(i);
          acked.set(i, mv);
          if (!killedAt && acked.size >= killAt) {
            killedAt = Date.now();
            first.child.kill('SIGKILL');
          }
        } catch (e) {
          const err = e as grpc.ServiceError;
          failed.set(i, err);
          if (!killedAt) failedBeforeKill.push(`${versionOf(i)}: ${err.code} ${err.details ?? err.message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const ackedBeforeKill = acked.size;
    expect(await first.exited).toBe('SIGKILL');
    expect(killedAt).toBeGreaterThan(0);
    client.close();
    // Before the kill nothing failed (the registry was healthy); after it, every call in flight did.
    expect(failedBeforeKill).toEqual([]);
    for (const [i, mv] of acked) expect(mv.spec).toMatchObject({ name: MODEL, version: versionOf(i), sha256: hashes[i], sizeBytes: payloads[i]!.length });

    // Partial uploads the kill left behind (swept by the restart).
    const tmpLeftByKill = filesUnder(path.join(artifacts, 'tmp')).length;

    // Restart on the same database and artifact directory.
    const tRestart = Date.now();
    running = await startRegistryProcess(env);
    const restartMs = Date.now() - tRestart;
    const again = new ModelRegistryClient(running.address, grpc.credentials.createInsecure());
    clients.push(again);

    // No visible partial artifact: tmp swept, every blob hashes to its own name in its own shard.
    expect(fs.readdirSync(path.join(artifacts, 'tmp'))).toEqual([]);
    const blobs = filesUnder(path.join(artifacts, 'sha256'));
    const blobShas = new Set<string>();
    for (const f of blobs) {
      const name = path.basename(f);
      expect(path.basename(path.dirname(f))).toBe(name.slice(0, 2));
      expect(sha(fs.readFileSync(f))).toBe(name);
      blobShas.add(name);
    }
    expect(filesUnder(artifacts).filter((f) => !f.startsWith(path.join(artifacts, 'sha256') + path.sep))).toEqual([]);

    // Every version row has its artifact, of its size, and an audit row from the same transaction.
    const pool = createPool(db.url, { max: 2 });
    let rows: Array<{ version: string; sha256: string; size_bytes: string }>;
    let auditSubjects: Set<string>;
    try {
      rows = (await pool.query('SELECT version, sha256, size_bytes FROM model_versions WHERE name = $1 ORDER BY version', [MODEL])).rows;
      auditSubjects = new Set(
        (await pool.query<{ subject: string }>("SELECT subject FROM registry_audit WHERE action = 'register_version'")).rows.map((r) => r.subject),
      );
    } finally {
      await pool.end();
    }
    const rowByVersion = new Map(rows.map((r) => [r.version, r]));
    for (const r of rows) {
      expect(blobShas.has(r.sha256)).toBe(true);
      expect(fs.statSync(path.join(artifacts, 'sha256', r.sha256.slice(0, 2), r.sha256)).size).toBe(Number(r.size_bytes));
      expect(auditSubjects.has(`${MODEL}/${r.version}`)).toBe(true);
    }
    expect(auditSubjects.size).toBe(rows.length);

    const download = (version: string): Promise<{ bytes: Buffer; first: ArtifactChunk }> =>
      new Promise((resolve, reject) => {
        const parts: Buffer[] = [];
        let first: ArtifactChunk | undefined;
        const s = again.downloadArtifact({ name: MODEL, version }, { deadline: Date.now() + 30_000 });
        s.on('data', (c: ArtifactChunk) => {
          first ??= c;
          parts.push(Buffer.from(c.data));
        });
        s.on('error', reject);
        s.on('end', () => resolve({ bytes: Buffer.concat(parts), first: first! }));
      });

    // Every launched upload: acknowledged => present and byte-identical; otherwise all or nothing.
    let committedUnacked = 0;
    const problems: string[] = [];
    let cursor = 0;
    const verify = async () => {
      while (cursor < launched) {
        const i = cursor++;
        const version = versionOf(i);
        const row = rowByVersion.get(version);
        if (acked.has(i) && !row) problems.push(`${version} was acknowledged but has no row`);
        if (row) {
          if (!acked.has(i)) committedUnacked++;
          if (row.sha256 !== hashes[i] || Number(row.size_bytes) !== payloads[i]!.length) problems.push(`${version} row does not describe the uploaded bytes`);
          const got = await unaryCall(again.getVersion.bind(again), { name: MODEL, version }, { deadlineMs: 10_000 });
          if (got.spec?.sha256 !== hashes[i]) problems.push(`${version} GetVersion sha256 ${got.spec?.sha256}`);
          const { bytes, first } = await download(version);
          if (first.sha256 !== hashes[i] || first.totalSize !== payloads[i]!.length)
            problems.push(`${version} download header ${first.sha256}/${first.totalSize}`);
          if (!bytes.equals(payloads[i]!)) problems.push(`${version} downloads different bytes`);
        } else {
          const err = await unaryCall(again.getVersion.bind(again), { name: MODEL, version }, { deadlineMs: 10_000 }).then(
            () => undefined,
            (e: grpc.ServiceError) => e,
          );
          if (err?.code !== grpc.status.NOT_FOUND)
            problems.push(`${version} has no row but GetVersion answered ${err ? `${err.code} ${err.details}` : 'a version'}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, verify));
    expect(problems).toEqual([]);
    // Versions never launched do not exist; rows exist only for launched uploads.
    expect(rows.every((r) => Number(r.version.slice(1)) <= launched)).toBe(true);

    const referenced = new Set(rows.map((r) => r.sha256));
    const orphans = [...blobShas].filter((s) => !referenced.has(s)).length;
    console.log(
      [
        'registry crash test:',
        `  launched                 ${launched} of ${UPLOADS} (${IN_FLIGHT} in flight)`,
        `  acknowledged before kill ${ackedBeforeKill} (kill after ${killAt} acks)`,
        `  failed (server killed)   ${failed.size}`,
        `  rows after restart       ${rows.length} (${committedUnacked} committed but unacknowledged)`,
        `  temp files left by kill  ${tmpLeftByKill} (swept on restart)`,
        `  artifact files           ${blobs.length}`,
        `  orphans (file, no row)   ${orphans}`,
        `  restart to SERVING       ${restartMs} ms`,
        `  total time               ${Date.now() - t0} ms`,
      ].join('\n'),
    );
    expect(rows.length).toBe(ackedBeforeKill + committedUnacked);
    expect(ackedBeforeKill + failed.size).toBe(launched);
  }, 180_000);
});
