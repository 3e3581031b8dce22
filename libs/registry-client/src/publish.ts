import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ModelRegistryClient, RegisterVersionRequest, type ModelVersion, type ModelVersionSpec } from '@ranksafe/proto';
import { adminMetadata, unaryCall } from '@ranksafe/serving-kit';
import { packBundle, sha256File } from '@ranksafe/registry-core';

const CHUNK = 256 * 1024;

/**
 * Upload `file` as a new version (client-streaming RegisterVersion): sha256 and size are declared
 * up front and the registry refuses a mismatch. `onProgress(sentBytes, totalBytes)` per chunk.
 */
export async function uploadVersion(
  client: ModelRegistryClient,
  md: grpc.Metadata,
  spec: Omit<ModelVersionSpec, 'sizeBytes' | 'sha256'>,
  file: string,
  opts: { onProgress?: (sent: number, total: number) => void; deadlineMs?: number } = {},
): Promise<ModelVersion> {
  const size = fs.statSync(file).size;
  const sha256 = sha256File(file);
  return new Promise((resolve, reject) => {
    const call = client.registerVersion(md, { deadline: Date.now() + (opts.deadlineMs ?? 600_000) }, (err, res) => (err ? reject(err) : resolve(res!)));
    call.on('error', () => undefined); // reported through the callback
    call.write(RegisterVersionRequest.fromPartial({ part: { $case: 'spec', value: { ...spec, sizeBytes: size, sha256 } } }));
    const stream = fs.createReadStream(file, { highWaterMark: CHUNK });
    let sent = 0;
    stream.on('data', (chunk) => {
      const buf = chunk as Buffer;
      sent += buf.length;
      if (!call.write({ part: { $case: 'chunk', value: buf } })) {
        stream.pause();
        call.once('drain', () => stream.resume());
      }
      opts.onProgress?.(sent, size);
    });
    stream.on('error', (e) => {
      call.cancel();
      reject(e);
    });
    stream.on('end', () => call.end());
  });
}

/**
 * Make sure `name`/`version` exists in the registry, bundling `files` of `dir` and uploading them
 * when it does not; then point `alias` at it unless the alias already exists (it is never moved
 * here: moving production is a rollout). Returns whether anything was uploaded.
 */
export async function publishDirectory(
  address: string,
  token: string,
  o: { spec: Omit<ModelVersionSpec, 'sizeBytes' | 'sha256'>; dir: string; files: string[]; alias?: string; actor?: string },
): Promise<{ uploaded: boolean; aliasSet: boolean }> {
  const client = new ModelRegistryClient(address, grpc.credentials.createInsecure());
  const md = adminMetadata(new grpc.Metadata(), token);
  if (o.actor) md.set('x-actor', o.actor);
  try {
    let uploaded = false;
    const exists = await unaryCall(client.getVersion.bind(client), { name: o.spec.name, version: o.spec.version }, { deadlineMs: 10_000, metadata: md }).then(
      () => true,
      (e: grpc.ServiceError) => {
        if (e.code === grpc.status.NOT_FOUND) return false;
        throw e;
      },
    );
    if (!exists) {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ranksafe-bundle-'));
      try {
        const bundle = path.join(tmp, 'artifact.bundle');
        packBundle(o.dir, o.files, bundle);
        await uploadVersion(client, md, o.spec, bundle);
        uploaded = true;
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    }
    let aliasSet = false;
    if (o.alias) {
      aliasSet = await unaryCall(
        client.setAlias.bind(client),
        { name: o.spec.name, alias: o.alias, version: o.spec.version, expectedVersion: '', reason: 'seeded by npm start' },
        { deadlineMs: 10_000, metadata: md },
      ).then(
        () => true,
        (e: grpc.ServiceError) => {
          if (e.code === grpc.status.ABORTED) return false; // already set: leave it
          throw e;
        },
      );
    }
    return { uploaded, aliasSet };
  } finally {
    client.close();
  }
}
