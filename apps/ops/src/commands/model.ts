// `ops model …`: the model registry from the command line (register by streamed upload, list,
// show, compare-and-set aliases, alias history, verified download, publish a model bundle
// directory as a rollout candidate), all through RegistryClient.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { type Command, InvalidArgumentError } from 'commander';
import { WORKSPACE_ROOT, type StackEnv } from '@ranksafe/platform';
import { ModelKind, modelKindToJSON, type ModelVersion } from '@ranksafe/proto';
import { modelBundleFiles, modelBundleSpec } from '@ranksafe/ranking-core';
import { MODEL_KINDS, modelKindOf, publishDirectory, type RegisterSpec } from '@ranksafe/registry-client';
import { fields, fmtBytes, fmtTime, progressReporter, run, table, withRegistry, type LoadEnv } from '../cli';

const kindName = (k: ModelKind) => Object.entries(MODEL_KINDS).find(([, v]) => v === k)?.[0] ?? modelKindToJSON(k);
const fmtMetrics = (m: Record<string, number>) =>
  Object.entries(m)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

export interface RegisterOptions {
  kind: string;
  framework: string;
  metric?: Record<string, number>;
  source?: string;
  parent?: string;
}

/** commander parser of --kind. */
export function parseKind(v: string): string {
  if (MODEL_KINDS[v] === undefined) throw new InvalidArgumentError(`want one of ${Object.keys(MODEL_KINDS).join(', ')}`);
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
  return fields([
    ['name', s.name],
    ['version', s.version],
    ['kind', kindName(s.kind)],
    ['framework', s.framework || '-'],
    ['size', `${s.sizeBytes} bytes (${fmtBytes(s.sizeBytes)})`],
    ['sha256', s.sha256],
    ['metrics', fmtMetrics(s.metrics) || '-'],
    [
      'signature',
      Object.entries(s.signature)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '-',
    ],
    ['source', s.lineage?.source || '-'],
    ['dataset sha256', s.lineage?.datasetSha256 || '-'],
    ['parent', s.lineage?.parentVersion || '-'],
    ['created', `${fmtTime(mv.createdAtUnixMs)} by ${mv.createdBy}`],
  ]);
}

/** Hash the file, then stream it to RegisterVersion in 256 KiB chunks. */
export async function registerCommand(cfg: StackEnv, name: string, version: string, file: string, o: RegisterOptions): Promise<string> {
  const kind = MODEL_KINDS[parseKind(o.kind)]!;
  const st = await fsp.stat(file).catch(() => undefined);
  if (!st?.isFile()) throw new Error(`${file} is not a file`);
  return withRegistry(cfg, async (registry) => {
    // refuse a duplicate before hashing and uploading what may be gigabytes (the server checks again)
    if (await registry.exists(name, version)) throw new Error(`ALREADY_EXISTS: model version ${name}/${version} already exists`);
    // sha256 and size are computed first and declared; the registry hashes the bytes again and
    // refuses a file that changed meanwhile.
    process.stderr.write(`hashing and uploading ${file} (${fmtBytes(st.size)}) ...\n`);
    const progress = progressReporter(`uploading ${name}/${version}`, st.size);
    let sent = 0;
    const spec = {
      name,
      version,
      kind,
      framework: o.framework,
      metrics: o.metric ?? {},
      lineage: { source: o.source ?? '', datasetSha256: '', parentVersion: o.parent ?? '' },
    };
    const mv = await registry
      .register(spec, file, {
        onProgress: (s) => {
          sent = s;
          progress.update(s);
        },
      })
      .catch((e: Error) => {
        if (process.stderr.isTTY) process.stderr.write('\n');
        throw e;
      });
    progress.finish(sent);
    return `registered\n${describe(mv)}`;
  });
}

export async function listCommand(cfg: StackEnv, name: string): Promise<string> {
  return withRegistry(cfg, async (registry) => {
    const versions: ModelVersion[] = [];
    for await (const v of registry.listVersions(name)) versions.push(v);
    if (!versions.length) return `no versions of ${name}`;
    return table(
      ['VERSION', 'KIND', 'FRAMEWORK', 'SIZE', 'SHA256', 'CREATED', 'BY', 'METRICS'],
      versions.map((v) => {
        const s = v.spec!;
        return [
          s.version,
          kindName(s.kind),
          s.framework,
          fmtBytes(s.sizeBytes),
          s.sha256.slice(0, 12),
          fmtTime(v.createdAtUnixMs),
          v.createdBy,
          fmtMetrics(s.metrics),
        ];
      }),
    );
  });
}

export async function showCommand(cfg: StackEnv, name: string, version: string): Promise<string> {
  return withRegistry(cfg, async (registry) => describe(await registry.getVersion(name, version)));
}

/**
 * Point `alias` at `version` with compare-and-set. Without `expect`, the alias's current version
 * (or '' when it does not exist) is read first and used as the expectation, so a concurrent move
 * between the read and the write still fails (AliasConflictError) rather than being overwritten.
 */
export async function aliasCommand(cfg: StackEnv, name: string, alias: string, version: string, o: { expect?: string; reason?: string }): Promise<string> {
  return withRegistry(cfg, async (registry) => {
    const expected = o.expect ?? (await registry.aliasVersion(name, alias));
    const a = await registry.setAlias({ name, alias, version, expectedVersion: expected, reason: o.reason });
    return `${a.name}@${a.alias}: ${expected || '(none)'} -> ${a.version} at ${fmtTime(a.updatedAtUnixMs)} by ${a.updatedBy}`;
  });
}

export async function historyCommand(cfg: StackEnv, name: string, alias: string): Promise<string> {
  return withRegistry(cfg, async (registry) => {
    const entries = await registry.aliasHistory(name, alias);
    if (!entries.length) return `no history for ${name}@${alias}`;
    return table(
      ['AT', 'VERSION', 'BY'],
      entries.map((e) => [fmtTime(e.updatedAtUnixMs), e.version || '(removed)', e.updatedBy]),
    );
  });
}

/** Download into a temp file beside `out`, verify size and sha256, fsync, then rename into place. */
export async function downloadCommand(cfg: StackEnv, name: string, version: string, out: string): Promise<string> {
  return withRegistry(cfg, async (registry) => {
    let progress: ReturnType<typeof progressReporter> | undefined;
    const d = await registry.download(name, version, out, {
      onProgress: (got, total) => {
        progress ??= progressReporter(`downloading ${name}/${version}`, total);
        progress.update(got);
      },
    });
    progress?.finish(d.sizeBytes);
    return `${d.path}: ${d.sizeBytes} bytes, sha256 ${d.sha256} (verified)`;
  });
}

export interface PublishOptions {
  variant: string;
  name?: string;
  version?: string;
  alias?: string;
}

/**
 * What `ops model publish` registers for a model bundle directory (manifest.json + the variant's
 * onnx + tokenizer files), checked before anything is sent: the name (manifest's unless given),
 * the version (`<variant>-<sha12>` of the variant's onnx file unless given, as `npm start` seeds
 * it), the spec and the files of the bundle.
 */
export function publishPlan(dir: string, o: PublishOptions): { spec: RegisterSpec; files: string[]; bytes: number } {
  const files = modelBundleFiles(dir, o.variant);
  const missing = files.filter((f) => !fs.existsSync(path.join(dir, f)));
  if (missing.length) throw new Error(`${dir} lacks ${missing.join(', ')} (listed in its manifest.json)`);
  const b = modelBundleSpec(dir, o.variant);
  const kind = modelKindOf(b.kind, dir);
  return {
    spec: {
      name: o.name ?? b.name,
      version: o.version ?? b.version,
      kind,
      framework: b.framework,
      signature: b.signature,
      metrics: b.metrics,
      lineage: { source: `ops model publish ${path.resolve(dir)} (variant ${o.variant}; ${b.license})`, datasetSha256: b.datasetSha256, parentVersion: '' },
    },
    files,
    bytes: files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0),
  };
}

/** Bundle a model directory's variant and register it (publishDirectory); an alias is only set when it does not exist yet. */
export async function publishCommand(cfg: StackEnv, dir: string, o: PublishOptions): Promise<string> {
  const plan = publishPlan(dir, o);
  const { name, version } = plan.spec;
  return withRegistry(cfg, async (registry) => {
    if (!(await registry.exists(name, version))) {
      process.stderr.write(`bundling ${plan.files.length} files of ${dir} (${fmtBytes(plan.bytes)}) and uploading them as ${name}/${version} ...\n`);
    }
    const r = await publishDirectory(registry, { spec: plan.spec, dir, files: plan.files, alias: o.alias, reason: `ops model publish ${version}` });
    const lines = [`${name}/${version} ${r.uploaded ? 'published' : 'already registered (not uploaded again)'}`];
    if (o.alias) {
      const now = r.aliasSet ? version : await registry.aliasVersion(name, o.alias);
      lines.push(
        r.aliasSet || now === version
          ? `${name}@${o.alias} -> ${version}`
          : `${name}@${o.alias} already points at ${now}, not moved (move it with a rollout, or ops model alias ${name} ${o.alias} ${version})`,
      );
    }
    lines.push(`roll it out: ops rollout start ${name} ${version}`);
    return lines.join('\n');
  });
}

export interface TrainSeqrecOptions {
  data: string;
  attrs?: string;
  out: string;
  name: string;
  register: boolean;
  alias?: string;
  /** Options passed on to `python -m seqrec train` (e.g. --epochs 50 --variant bert4rec). */
  train: string[];
}

/** The argv of `python -m seqrec train` for `ops model train-seqrec`. */
export function seqrecTrainArgs(o: TrainSeqrecOptions): string[] {
  return [
    '-m',
    'seqrec',
    'train',
    '--data',
    path.resolve(o.data),
    ...(o.attrs ? ['--attrs', path.resolve(o.attrs)] : []),
    '--out',
    path.resolve(o.out),
    '--name',
    o.name,
    ...o.train,
  ];
}

/**
 * Train, evaluate and export a sequential recommender with tools/seqrec (PyTorch, in .venv-seqrec;
 * its progress shown as it runs), then register the bundle (the int8 variant when the tool kept it).
 */
export async function trainSeqrecCommand(cfg: StackEnv, o: TrainSeqrecOptions): Promise<string> {
  const python = path.join(WORKSPACE_ROOT, '.venv-seqrec', 'bin', 'python');
  if (!fs.existsSync(python)) throw new Error(`${python} is missing: install the training tool with bash tools/seqrec/setup.sh (PyTorch CPU, its own venv)`);
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(python, seqrecTrainArgs(o), { cwd: path.join(WORKSPACE_ROOT, 'tools', 'seqrec'), stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1)));
  });
  if (code !== 0) throw new Error(`tools/seqrec training exited ${code}`);
  const variants = JSON.parse(fs.readFileSync(path.join(o.out, 'manifest.json'), 'utf8')).variants as Record<string, string>;
  if (!o.register) return `trained: ${path.resolve(o.out)} (not registered; ops model publish ${o.out} --variant ${variants['int8'] ? 'int8' : 'fp32'})`;
  return publishCommand(cfg, o.out, { variant: variants['int8'] ? 'int8' : 'fp32', alias: o.alias });
}

/** Register `ops model …` on the program. */
export function addModelCommands(program: Command, loadEnv: LoadEnv): void {
  const model = program.command('model').description('the model registry: versions, aliases, artifacts');
  model
    .command('register <name> <version> <file>')
    .description('hash a file and upload it as a new model version (streamed in 256 KiB chunks)')
    .option('--kind <kind>', `one of ${Object.keys(MODEL_KINDS).join(', ')}`, parseKind, 'bi-encoder')
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
  model
    .command('publish <dir>')
    .description('register one variant of a model bundle directory (manifest.json + onnx + tokenizer files), e.g. as a rollout candidate')
    .option('--variant <name>', 'which onnx variant of the manifest (fp32, int8)', 'int8')
    .option('--name <name>', "registry name (default: the manifest's)")
    .option('--version <version>', 'registry version (default: <variant>-<sha256 of its onnx file, 12 hex>)')
    .option('--alias <alias>', 'also point this alias at it, when the alias does not exist yet (production moves by a rollout only)')
    .action(run((dir: string, o: PublishOptions) => publishCommand(loadEnv(), dir, o)));
  model
    .command('train-seqrec')
    .description('train, evaluate and export a sequential recommender (tools/seqrec, PyTorch in .venv-seqrec), then register it')
    .requiredOption('--data <file>', 'one user a line: user_id item_id item_id ... (time order)')
    .option('--attrs <file>', 'JSON {item_id: [attribute ids]}: item side information')
    .requiredOption('--out <dir>', 'where the bundle is written')
    .option('--name <name>', 'registry name', 'seqrec')
    .option('--no-register', 'train and export only')
    .option('--alias <alias>', 'also point this alias at it, when the alias does not exist yet')
    .option('--train <arg...>', 'options for python -m seqrec train, e.g. --train=--epochs --train=50', (v: string, prev: string[] = []) => [...prev, v], [])
    .action(run((o: TrainSeqrecOptions) => trainSeqrecCommand(loadEnv(), o)));
}
