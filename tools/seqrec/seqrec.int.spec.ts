// tools/seqrec end to end on a small synthetic file: trains (PyTorch, .venv-seqrec), evaluates, exports
// to ONNX (the tool checks ONNX = PyTorch), and the exported graph answers the same in onnxruntime-node,
// served by ranking-service over gRPC. Skips when the training venv is absent (bash tools/seqrec/setup.sh;
// .ci/run installs it).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { modelBundleSpec, readManifest } from '@ranksafe/ranking-core';
import { LoadModelRequest, ModelKind, RankingClient, RecommendItemsRequest } from '@ranksafe/proto';
import { adminMetadata, unaryCall } from '@ranksafe/serving-kit';
import { ringCatalogIndex, writeRingWalkFile } from '@ranksafe/testing';
/* eslint-disable @nx/enforce-module-boundaries -- the test serves the exported model with the real ranking service in-process; apps never import each other outside tests */
import { startRankingService } from '../../apps/ranking-service/src/app';
import { loadRankingConfig } from '../../apps/ranking-service/src/config';
/* eslint-enable @nx/enforce-module-boundaries */

const root = path.resolve(__dirname, '../..');
const python = path.join(root, '.venv-seqrec/bin/python');
const maybe = fs.existsSync(python) ? describe : describe.skip;
if (!fs.existsSync(python)) console.warn(`tools/seqrec integration test skipped: ${python} is missing (bash tools/seqrec/setup.sh)`);

maybe('tools/seqrec: train, evaluate, export on a synthetic file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqrec-'));
  const out = path.join(dir, 'bundle');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('learns the walk, exports an ONNX graph equal to PyTorch, and ranking-service serves it over gRPC', async () => {
    const data = path.join(dir, 'sessions.txt');
    writeRingWalkFile(data);
    const args = [
      '-m',
      'seqrec',
      'train',
      '--data',
      data,
      '--out',
      out,
      '--name',
      'walk',
      '--epochs',
      '30',
      '--dim',
      '32',
      '--max-len',
      '12',
      '--patience',
      '30',
      '--dropout',
      '0.1',
      '--attn-dropout',
      '0.1',
    ];
    const r = spawnSync(python, args, { cwd: path.join(root, 'tools/seqrec'), encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`seqrec train exited ${r.status}:\n${r.stderr.slice(-3000)}\n${r.stdout}`);
    expect(r.stdout).toMatch(/\| test \| full \|/);
    expect(r.stdout).toMatch(/ONNX = PyTorch within/);

    const run = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'));
    // 40 items: a model that learnt nothing scores NDCG@10 about 0.13 (ranks uniform over ~35 unseen items).
    expect(run.metrics.test.full['ndcg@10']).toBeGreaterThan(0.4);
    expect(run.onnx.max_abs_diff_vs_pytorch).toBeLessThanOrEqual(1e-3);
    expect(run.dataset.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(run.history.epochs.length).toBeGreaterThan(0);

    const m = readManifest(out);
    expect(m.kind).toBe('sequential-recommender');
    expect(modelBundleSpec(out, 'fp32')).toMatchObject({ kind: 'sequential-recommender', signature: { items: '40', max_length: '12' } });
    const vocab: string[] = JSON.parse(fs.readFileSync(path.join(out, 'vocab.json'), 'utf8'));
    expect(vocab).toHaveLength(40);

    // Served through ranking-service over gRPC (onnxruntime-node), its vocabulary checked against the ring's
    // catalog: a user who walked i10 … i14 one step at a time goes to i15 next (or, as a fifth of the users
    // step by two, i16: the two first among the 35 items not yet seen).
    const ring = await ringCatalogIndex();
    const { svc } = await startRankingService(
      loadRankingConfig({
        GRPC_PORT: '0',
        METRICS_PORT: '-1',
        LOG_LEVEL: 'error',
        ADMIN_TOKEN: 'seqrec-test-admin-token',
        RANKING_PRIME_INDEX: ring.root,
        RANKING_WARM_TOP_N: '0',
      }),
      { handleSignals: false },
    );
    const client = new RankingClient(svc.address, grpc.credentials.createInsecure());
    try {
      const md = adminMetadata(new grpc.Metadata(), 'seqrec-test-admin-token');
      const loaded = await unaryCall(client.loadModel.bind(client), LoadModelRequest.fromPartial({ source: { $case: 'localPath', value: out } }), {
        metadata: md,
      });
      expect(loaded.loaded).toMatchObject({ kind: ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER, vocabItems: 40, catalogCoverage: 1 });
      const r = await unaryCall(client.recommend.bind(client), RecommendItemsRequest.fromPartial({ itemIds: ['i10', 'i11', 'i12', 'i13', 'i14'], k: 2 }));
      expect(r.model).toMatchObject({ name: 'walk', kind: ModelKind.MODEL_KIND_SEQUENTIAL_RECOMMENDER });
      expect(r.items.map((x) => x.id).sort()).toEqual(['i15', 'i16']);
    } finally {
      client.close();
      await svc.shutdown();
    }
  }, 320_000);
});
