// A corrupted model artifact: 16 bytes in the middle of the production model's bundle in the
// registry's artifact store, and of its ONNX file in the target ranking replica's registry cache,
// are inverted (bit rot on two disks). Proven by the files' hashes, then by the system refusing
// them: the replica's reload (DATA_LOSS, and it keeps serving what it has in memory) and a fresh
// download (DATA_LOSS). Detected by the registry's scrub (VerifyArtifacts flags the artifact).
// Undone from the record alone: it keeps each file's path, offset, original bytes and sha256.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ApplicationFailure } from '@temporalio/activity';
import { fileDigest, verifyUnpackedCopy } from '@ranksafe/artifact-integrity';
import { storedExtra, type ArtifactRegistry, type DrillDeps, type DrillReplica, type FaultDriver, type InjectedFault } from './types';

/** Bytes inverted in each file. */
export const CORRUPT_BYTES = 16;

/** One file changed: enough to put it back without the workflow. */
export interface CorruptedFile {
  /** `registry-store` or `replica-cache`. */
  where: 'registry-store' | 'replica-cache';
  path: string;
  offset: number;
  /** The original bytes (hex). */
  original: string;
  /** What the whole file hashes to when intact. */
  sha256: string;
}

/** What the record's `extra` holds. */
export interface CorruptionRecord {
  model: string;
  version: string;
  /** The bundle's sha256 (the registry's record). */
  sha256: string;
  files: CorruptedFile[];
}

const isDataLoss = (e: unknown) => (e as { code?: number }).code === grpc.status.DATA_LOSS;
const firstLine = (e: unknown) => String((e as { details?: string }).details ?? (e as Error).message).split('\n')[0];

function registryOf(deps: Pick<DrillDeps, 'registry'>): ArtifactRegistry {
  const r = deps.registry;
  if (!r.resolve || !r.download || !r.verifyArtifacts) throw new Error('this worker has no registry client that resolves, downloads and verifies artifacts');
  return r as ArtifactRegistry;
}

/** Invert CORRUPT_BYTES in the middle of `file`; returns what puts it back. */
function invertBytes(file: string): { offset: number; original: string } {
  const size = fs.statSync(file).size;
  if (size < CORRUPT_BYTES * 2) throw new Error(`${file} is too small to corrupt (${size} bytes)`);
  const offset = Math.floor(size / 2);
  const fd = fs.openSync(file, 'r+');
  try {
    const buf = Buffer.alloc(CORRUPT_BYTES);
    fs.readSync(fd, buf, 0, CORRUPT_BYTES, offset);
    const original = buf.toString('hex');
    for (let i = 0; i < buf.length; i++) buf[i] = buf[i]! ^ 0xff;
    fs.writeSync(fd, buf, 0, CORRUPT_BYTES, offset);
    fs.fsyncSync(fd);
    return { offset, original };
  } finally {
    fs.closeSync(fd);
  }
}

/** Put the original bytes back (idempotent: writing them twice is the same) and check the whole file again. */
export async function restoreFile(f: CorruptedFile): Promise<'restored' | 'intact' | 'absent'> {
  if (!fs.existsSync(f.path)) return 'absent';
  if ((await fileDigest(f.path)).sha256 === f.sha256) return 'intact';
  const fd = fs.openSync(f.path, 'r+');
  try {
    fs.writeSync(fd, Buffer.from(f.original, 'hex'), 0, f.original.length / 2, f.offset);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  const got = (await fileDigest(f.path)).sha256;
  if (got !== f.sha256) throw new Error(`${f.path} still hashes to ${got} (want ${f.sha256}) after its original bytes were put back`);
  return 'restored';
}

/** The model the replica serves by default (the artifact to corrupt). */
async function servedModel(deps: DrillDeps, instance: DrillReplica): Promise<string> {
  const models = await deps.serving.listModels(instance.address);
  const d = models.find((m) => m.isDefault);
  if (!d) throw new Error(`${instance.name} serves no default model`);
  return d.model;
}

const recordOf = (f: InjectedFault) => f.extra as unknown as CorruptionRecord;

/** The ONNX file (the largest file its manifest lists that is present) of an unpacked cache entry. */
function cachedModelFile(dir: string): { file: string; sha256: string } {
  const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { sha256: string; bytes?: number }> };
  const present = Object.entries(m.artifacts)
    .filter(([name]) => fs.existsSync(path.join(dir, name)))
    .map(([name, e]) => ({ file: path.join(dir, name), sha256: e.sha256, size: fs.statSync(path.join(dir, name)).size }))
    .sort((a, b) => b.size - a.size);
  if (!present[0]) throw new Error(`${dir} holds none of the files its manifest lists`);
  return present[0];
}

export const corruptArtifactFault: FaultDriver = {
  describe: () => `invert ${CORRUPT_BYTES} bytes of the production model's artifact in the registry's store and in the replica's registry cache`,
  reverts: (_spec, instances) =>
    instances.map(
      (i) => `put the original bytes back in the registry's artifact and in ${i.name}'s cached copy (evicted by its reload: downloaded again), then reload it`,
    ),
  recorded: true,
  async inject(deps, { instance }) {
    const files = deps.drills.artifactFiles;
    if (!files)
      throw ApplicationFailure.create({
        type: 'NoArtifactFiles',
        nonRetryable: true,
        message: "this drill-worker does not share the registry's and the replicas' disks (DRILL_REGISTRY_ARTIFACT_DIR, DRILL_RANKING_CACHE_ROOT)",
      });
    const registry = registryOf(deps);
    const model = await servedModel(deps, instance);
    const prod = await registry.resolve(model, 'production');
    const storeFile = path.join(files.registryStore, 'sha256', prod.sha256.slice(0, 2), prod.sha256);
    const cacheDir = path.join(files.rankingCacheRoot, instance.name, prod.sha256);
    if (!fs.existsSync(storeFile)) throw new Error(`the registry's artifact ${storeFile} is not there`);
    if (!fs.existsSync(cacheDir)) throw new Error(`${instance.name} has no cached copy of ${model} ${prod.version} at ${cacheDir}`);
    const cached = cachedModelFile(cacheDir);
    const t = Date.now();
    const out: CorruptedFile[] = [];
    const a = invertBytes(storeFile);
    out.push({ where: 'registry-store', path: storeFile, sha256: prod.sha256, ...a });
    const b = invertBytes(cached.file);
    out.push({ where: 'replica-cache', path: cached.file, sha256: cached.sha256, ...b });
    const record: CorruptionRecord = { model, version: prod.version, sha256: prod.sha256, files: out };
    return { injectedAtUnixMs: t, extra: record as unknown as Record<string, unknown> };
  },
  async prove(deps, { spec, fault, instance }) {
    const rec = recordOf(fault);
    const facts: string[] = [];
    const problems: string[] = [];
    // The artifact really fails its hash, in both places.
    for (const f of rec.files) {
      const got = (await fileDigest(f.path)).sha256;
      if (got === f.sha256) problems.push(`${f.where} ${f.path} still hashes to its recorded ${f.sha256.slice(0, 12)}: the corruption did not take`);
      else facts.push(`${f.where} copy hashes to ${got.slice(0, 12)}, recorded ${f.sha256.slice(0, 12)}`);
    }
    if (problems.length) return { problem: problems.join('; ') };
    // The replica's reload refuses it and it keeps serving what it has.
    try {
      await deps.serving.loadModel(instance.address, { model: rec.model, version: rec.version });
      problems.push(`${instance.name}'s reload of ${rec.model} ${rec.version} accepted the corrupt artifact`);
    } catch (e) {
      if (isDataLoss(e)) facts.push(`${instance.name} reload refused with DATA_LOSS (${firstLine(e)})`);
      else problems.push(`${instance.name}'s reload failed, but not with DATA_LOSS: ${firstLine(e)}`);
    }
    try {
      const h = await deps.serving.health(instance.address, 2000);
      const q = await deps.serving.canaryQuery(spec.target.tier, instance.address, 5000);
      if (h.status !== 'SERVING') problems.push(`${instance.name} health ${h.status} after the refused reload`);
      else facts.push(`${instance.name} kept serving (SERVING, a probe answered in ${q.latencyMs} ms)`);
    } catch (e) {
      problems.push(`${instance.name} stopped answering after the refused reload: ${firstLine(e)}`);
    }
    // A fresh download is refused.
    const tmp = path.join(os.tmpdir(), `ranksafe-drill-${process.pid}-${Date.now()}.bundle`);
    try {
      await registryOf(deps).download(rec.model, rec.version, tmp, { expectedSha256: rec.sha256 });
      problems.push(`a fresh download of ${rec.model} ${rec.version} was accepted`);
    } catch (e) {
      if (isDataLoss(e)) facts.push(`fresh download refused with DATA_LOSS (${firstLine(e)})`);
      else problems.push(`the fresh download failed, but not with DATA_LOSS: ${firstLine(e)}`);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    return problems.length ? { problem: problems.join('; ') } : { proof: `${rec.model} ${rec.version}: ${facts.join('; ')}` };
  },
  async detect(deps, { faults }) {
    const incidents = [];
    let latest = 0;
    for (const f of faults) {
      const rec = recordOf(f);
      const v = await registryOf(deps).verifyArtifacts(rec.model);
      const hit = v.artifacts.find((a) => a.sha256 === rec.sha256 && a.status !== 'ok');
      if (!hit) return { incidents: [] };
      incidents.push({
        id: `registry-flag-${rec.sha256.slice(0, 12)}`,
        instance: f.instance,
        state: `flagged ${hit.status}`,
        detectedAtUnixMs: v.verifiedAtUnixMs,
      });
      latest = Math.max(latest, v.verifiedAtUnixMs);
    }
    return { detectedAtUnixMs: incidents.length ? latest : undefined, incidents };
  },
  async notRestored(deps, { faults, instances }) {
    const out: string[] = [];
    for (const f of faults) {
      const rec = recordOf(f);
      const v = await registryOf(deps).verifyArtifacts(rec.model);
      const bad = v.artifacts.find((a) => a.sha256 === rec.sha256 && a.status !== 'ok');
      if (bad) {
        out.push(`the registry flags ${rec.model} ${rec.version} (${bad.status})`);
        continue;
      }
      // The registry's copy verifies: the replica must load it again (its cache refilled, verified).
      const i = instances.find((x) => x.name === f.instance);
      if (!i) continue;
      try {
        await deps.serving.loadModel(i.address, { model: rec.model, version: rec.version });
        const cache = rec.files.find((x) => x.where === 'replica-cache');
        if (cache) verifyUnpackedCopy(path.dirname(cache.path));
      } catch (e) {
        out.push(`${i.name} cannot reload ${rec.model} ${rec.version}: ${firstLine(e)}`);
      }
    }
    return out;
  },
  async revert(_deps, f) {
    const rec = storedExtra<CorruptionRecord>(f);
    if (!rec?.files?.length) return `${f.target}: nothing was corrupted yet (no files recorded)`;
    const done: string[] = [];
    for (const file of rec.files) {
      const r = await restoreFile(file);
      if (r === 'absent' && file.where === 'registry-store') throw new Error(`the registry's artifact ${file.path} is gone: cannot put its bytes back`);
      done.push(
        r === 'absent'
          ? `${file.where}: evicted (the refused reload removed it; the next load downloads it again, verified)`
          : `${file.where}: ${r === 'restored' ? 'original bytes put back' : 'already intact'}, hashes to ${file.sha256.slice(0, 12)} again`,
      );
    }
    return `${rec.model} ${rec.version} on ${f.target}: ${done.join('; ')}`;
  },
};
