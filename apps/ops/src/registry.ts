// `ops model …`: the model registry from the command line (register by streamed upload, list,
// show, compare-and-set aliases, alias history, verified download).
import { createHash, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { type Command, InvalidArgumentError } from 'commander';
import { adminToken, expectedTopology, type StackEnv } from '@ranksafe/platform';
import {
  type ArtifactChunk,
  ModelKind,
  modelKindToJSON,
  ModelRegistryClient,
  type ModelVersion,
} from '@ranksafe/proto';
import { adminMetadata, unaryCall } from '@ranksafe/serving-kit';
import { uploadVersion } from '@ranksafe/registry-core';
import { table } from './commands';


export const KINDS: Record<string, ModelKind> = {
  'bi-encoder': ModelKind.MODEL_KIND_BI_ENCODER,
  'cross-encoder': ModelKind.MODEL_KIND_CROSS_ENCODER,
  'sequential-recommender': ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER,
  'catalog-index': ModelKind.MODEL_KIND_CATALOG_INDEX,
};

const kindName = (k: ModelKind) => Object.entries(KINDS).find(([, v]) => v === k)?.[0] ?? modelKindToJSON(k);

/** The registry's address and the admin token of the stack (running, else configured). */
export function registryTarget(cfg: StackEnv): { address: string; token: string } {
  const reg = expectedTopology(cfg).components.find((c) => c.app === 'model-registry' && c.grpcAddress);
  if (!reg) throw new Error('the stack has no model-registry component');
  return { address: reg.grpcAddress!, token: adminToken(cfg) };
}

interface Session {
  client: ModelRegistryClient;
  md: () => grpc.Metadata;
}

async function withRegistry<T>(cfg: StackEnv, fn: (s: Session) => Promise<T>): Promise<T> {
  const { address, token } = registryTarget(cfg);
  const client = new ModelRegistryClient(address, grpc.credentials.createInsecure());
  const actor = `ops:${process.env.USER || os.userInfo().username}`;
  const md = () => {
    const m = adminMetadata(new grpc.Metadata(), token);
    m.set('x-actor', actor);
    return m;
  };
  try {
    return await fn({ client, md });
  } catch (e) {
    const err = e as grpc.ServiceError;
    if (typeof err.code === 'number' && err.details !== undefined) {
      const what = err.code === grpc.status.UNAVAILABLE ? `the model registry at ${address} is unreachable (${err.details})` : err.details;
      throw new Error(`${grpc.status[err.code]}: ${what}`);
    }
    throw e;
  } finally {
    client.close();
  }
}

export const fmtBytes = (n: number) =>
  n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GiB` : n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
const fmtTime = (ms: number) => (ms ? new Date(ms).toISOString() : '-');
const fmtMetrics = (m: Record<string, number>) =>
  Object.entries(m)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

/**
 * Progress on stderr: redrawn in place (a few times a second) on a TTY, else one line at every
 * ~10% step.
 */
export function progressReporter(label: string, total: number, out: NodeJS.WriteStream = process.stderr) {
  const t0 = Date.now();
  let lastDraw = 0;
  let lastStep = -1;
  const line = (done: number) => {
    const pct = total ? (done / total) * 100 : 100;
    const secs = Math.max((Date.now() - t0) / 1000, 1e-3);
    return `${label}: ${pct.toFixed(1).padStart(5)}%  ${fmtBytes(done)} / ${fmtBytes(total)}  ${(done / 1e6 / secs).toFixed(1)} MB/s`;
  };
  return {
    update(done: number) {
      if (out.isTTY) {
        const now = Date.now();
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        out.write(`\r${line(done)}\x1b[K`);
      } else {
        const step = total ? Math.floor((done / total) * 10) : 10;
        if (step > lastStep) {
          lastStep = step;
          out.write(`${line(done)}\n`);
        }
      }
    },
    finish(done: number) {
      if (out.isTTY) out.write(`\r${line(done)}\x1b[K\n`);
      else if (lastStep < 10) out.write(`${line(done)}\n`);
    },
  };
}

export interface RegisterOptions {
  kind: string;
  framework: string;
  metric?: Record<string, number>;
  source?: string;
  parent?: string;
}

/** commander parser of --kind. */
export function parseKind(v: string): string {
  if (KINDS[v] === undefined) throw new InvalidArgumentError(`want one of ${Object.keys(KINDS).join(', ')}`);
  return v;
}

/** commander parser of --metric k=v (repeatable, variadic): accumulates into one record. */
export function parseMetric(kv: string, previous: Record<string, number> = {}): Record<string, number> {
  const m = /^([^=]+)=(.+)$/.exec(kv);
  const v = m ? Number(m[2]) : NaN;
  if (!m || !Number.isFinite(v)) throw new InvalidArgumentError(`want key=number, got "${kv}"`);
  return { ...previous, [m[1]!.trim()]: v };
}

function describe(mv: ModelVersion): string {
  const s = mv.spec!;
  const lines: Array<[string, string]> = [
    ['name', s.name],
    ['version', s.version],
    ['kind', kindName(s.kind)],
    ['framework', s.framework || '-'],
    ['size', `${s.sizeBytes} bytes (${fmtBytes(s.sizeBytes)})`],
    ['sha256', s.sha256],
    ['metrics', fmtMetrics(s.metrics) || '-'],
    ['signature', Object.entries(s.signature).map(([k, v]) => `${k}=${v}`).join(' ') || '-'],
    ['source', s.lineage?.source || '-'],
    ['dataset sha256', s.lineage?.datasetSha256 || '-'],
    ['parent', s.lineage?.parentVersion || '-'],
    ['created', `${fmtTime(mv.createdAtUnixMs)} by ${mv.createdBy}`],
  ];
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

/** Hash the file, then stream it to RegisterVersion in 256 KiB chunks. */
export async function registerCommand(cfg: StackEnv, name: string, version: string, file: string, o: RegisterOptions): Promise<string> {
  const kind = KINDS[parseKind(o.kind)]!;
  const metrics = o.metric ?? {};
  const st = await fsp.stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new Error(`${file} is not a file`);
  // refuse a duplicate before hashing and uploading what may be gigabytes (the server checks again)
  await withRegistry(cfg, async ({ client, md }) => {
    const exists = await unaryCall(client.getVersion.bind(client), { name, version }, { metadata: md(), deadlineMs: 10_000 }).then(
      () => true,
      (e: grpc.ServiceError) => {
        if (e.code === grpc.status.NOT_FOUND) return false;
        throw e;
      },
    );
    if (exists) throw new Error(`ALREADY_EXISTS: model version ${name}/${version} already exists`);
  });
  // sha256 and size are computed first and declared; the registry hashes the bytes again and
  // refuses a file that changed meanwhile.
  process.stderr.write(`hashing and uploading ${file} (${fmtBytes(st.size)}) ...\n`);
  const progress = progressReporter(`uploading ${name}/${version}`, st.size);
  let sent = 0;
  const spec = { name, version, kind, framework: o.framework, signature: {}, metrics, lineage: { source: o.source ?? '', datasetSha256: '', parentVersion: o.parent ?? '' } };
  const mv = await withRegistry(cfg, ({ client, md }) =>
    uploadVersion(client, md(), spec, file, {
      onProgress: (s) => {
        sent = s;
        progress.update(s);
      },
    }),
  ).catch((e: Error) => {
    if (process.stderr.isTTY) process.stderr.write('\n');
    throw e;
  });
  progress.finish(sent);
  return `registered\n${describe(mv)}`;
}

export async function listCommand(cfg: StackEnv, name: string): Promise<string> {
  return withRegistry(cfg, async ({ client, md }) => {
    const versions: ModelVersion[] = [];
    let pageToken = '';
    do {
      const page = await unaryCall(client.listVersions.bind(client), { name, pageSize: 200, pageToken }, { metadata: md(), deadlineMs: 10_000 });
      versions.push(...page.versions);
      pageToken = page.nextPageToken;
    } while (pageToken);
    if (!versions.length) return `no versions of ${name}`;
    return table(
      ['VERSION', 'KIND', 'FRAMEWORK', 'SIZE', 'SHA256', 'CREATED', 'BY', 'METRICS'],
      versions.map((v) => {
        const s = v.spec!;
        return [s.version, kindName(s.kind), s.framework, fmtBytes(s.sizeBytes), s.sha256.slice(0, 12), fmtTime(v.createdAtUnixMs), v.createdBy, fmtMetrics(s.metrics)];
      }),
    );
  });
}

export async function showCommand(cfg: StackEnv, name: string, version: string): Promise<string> {
  return withRegistry(cfg, async ({ client, md }) => describe(await unaryCall(client.getVersion.bind(client), { name, version }, { metadata: md(), deadlineMs: 10_000 })));
}

/**
 * Point `alias` at `version` with compare-and-set. Without `expect`, the alias's current version
 * (or '' when it does not exist) is read first and used as the expectation, so a concurrent move
 * between the read and the write still fails rather than being overwritten.
 */
export async function aliasCommand(cfg: StackEnv, name: string, alias: string, version: string, o: { expect?: string; reason?: string }): Promise<string> {
  return withRegistry(cfg, async ({ client, md }) => {
    let expected = o.expect;
    if (expected === undefined) {
      expected = await unaryCall(client.resolveAlias.bind(client), { name, alias, asOfUnixMs: 0 }, { metadata: md(), deadlineMs: 10_000 }).then(
        (a) => a.version,
        (e: grpc.ServiceError) => {
          if (e.code === grpc.status.NOT_FOUND) return '';
          throw e;
        },
      );
    }
    const a = await unaryCall(
      client.setAlias.bind(client),
      { name, alias, version, expectedVersion: expected, reason: o.reason ?? '' },
      { metadata: md(), deadlineMs: 10_000 },
    );
    return `${a.name}@${a.alias}: ${expected || '(none)'} -> ${a.version} at ${fmtTime(a.updatedAtUnixMs)} by ${a.updatedBy}`;
  });
}

export async function historyCommand(cfg: StackEnv, name: string, alias: string): Promise<string> {
  return withRegistry(cfg, async ({ client, md }) => {
    const h = await unaryCall(client.aliasHistory.bind(client), { name, alias }, { metadata: md(), deadlineMs: 10_000 });
    if (!h.entries.length) return `no history for ${name}@${alias}`;
    return table(
      ['AT', 'VERSION', 'BY'],
      h.entries.map((e) => [fmtTime(e.updatedAtUnixMs), e.version || '(removed)', e.updatedBy]),
    );
  });
}

/** Download into a temp file beside `out`, verify size and sha256, fsync, then rename into place. */
export async function downloadCommand(cfg: StackEnv, name: string, version: string, out: string): Promise<string> {
  const dest = path.resolve(out);
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${randomBytes(6).toString('hex')}.part`);
  return withRegistry(cfg, async ({ client, md }) => {
    const fh = await fsp.open(tmp, 'wx', 0o644);
    let closed = false;
    try {
      const h = createHash('sha256');
      let size = 0;
      let total = -1;
      let declared = '';
      let progress: ReturnType<typeof progressReporter> | undefined;
      const stream = client.downloadArtifact({ name, version }, md());
      for await (const c of stream as AsyncIterable<ArtifactChunk>) {
        if (total < 0) {
          total = c.totalSize;
          declared = c.sha256;
          progress = progressReporter(`downloading ${name}/${version}`, total);
        }
        const data = Buffer.from(c.data);
        h.update(data);
        size += data.length;
        let off = 0;
        while (off < data.length) off += (await fh.write(data, off, data.length - off)).bytesWritten;
        progress!.update(size);
      }
      if (total < 0) throw new Error('the registry sent no data');
      const sha256 = h.digest('hex');
      if (size !== total) throw new Error(`received ${size} bytes, the registry declared ${total}; nothing written to ${dest}`);
      if (sha256 !== declared) throw new Error(`received bytes hash to ${sha256}, the registry declared ${declared}; nothing written to ${dest}`);
      progress!.finish(size);
      await fh.sync();
      await fh.close();
      closed = true;
      await fsp.rename(tmp, dest);
      return `${dest}: ${size} bytes, sha256 ${sha256} (verified)`;
    } finally {
      if (!closed) {
        await fh.close().catch(() => undefined);
      }
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
    }
  });
}

/** Register `ops model …` on the program. */
export function addModelCommands(program: Command, loadEnv: () => StackEnv): void {
  const say = (text: string) => process.stdout.write(`${text}\n`);
  /** Expected failures (registry errors, bad input) as one line on stderr and exit code 1. */
  const run =
    <A extends unknown[]>(fn: (...args: A) => Promise<string>) =>
    async (...args: A) => {
      try {
        say(await fn(...args));
      } catch (e) {
        process.stderr.write(`error: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    };
  const model = program.command('model').description('the model registry: versions, aliases, artifacts');
  model
    .command('register <name> <version> <file>')
    .description('hash a file and upload it as a new model version (streamed in 256 KiB chunks)')
    .option('--kind <kind>', `one of ${Object.keys(KINDS).join(', ')}`, parseKind, 'bi-encoder')
    .option('--framework <name>', 'framework of the artifact', 'onnx')
    .option('--metric <k=v...>', 'offline metrics, e.g. --metric ndcg10=0.68 mrr=0.5', parseMetric)
    .option('--source <text>', 'lineage: where the artifact came from')
    .option('--parent <version>', 'lineage: the version it was derived from')
    .action(run((name: string, version: string, file: string, o: RegisterOptions) => registerCommand(loadEnv(), name, version, file, o)));
  model
    .command('list <name>')
    .description('versions of a model, newest first')
    .action(run((name: string) => listCommand(loadEnv(), name)));
  model
    .command('show <name> <version>')
    .description('one version in full')
    .action(run((name: string, version: string) => showCommand(loadEnv(), name, version)));
  model
    .command('alias <name> <alias> <version>')
    .description('point an alias at a version (compare-and-set against --expect, else against its current version)')
    .option('--expect <current>', "the version the alias must point at now ('' = must not exist)")
    .option('--reason <text>', 'why, for the alias history')
    .action(run((name: string, alias: string, version: string, o: { expect?: string; reason?: string }) => aliasCommand(loadEnv(), name, alias, version, o)));
  model
    .command('history <name> <alias>')
    .description('every move of an alias, newest first')
    .action(run((name: string, alias: string) => historyCommand(loadEnv(), name, alias)));
  model
    .command('download <name> <version> <out-file>')
    .description('download an artifact, verify its size and sha256, then move it into place')
    .action(run((name: string, version: string, out: string) => downloadCommand(loadEnv(), name, version, out)));
}
