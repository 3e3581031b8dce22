// `npm start` step: the demo's sequential recommender, trained on the served catalog's histories with
// tools/seqrec's numpy model (seqrec.light, in the project's .venv: no PyTorch), once per index version.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { readIndexCatalog, readIndexManifest } from '@ranksafe/retrieval-core';

/** Registry name of the demo recommender (what the ranking replicas load with production). */
export const DEMO_RECOMMENDER_NAME = 'seqrec-demo';

/**
 * The bundle directory of the recommender for the index at `indexRoot`: <data>/recommenders/<index version>,
 * trained now when it is not there yet (about a minute for the 100k demo shop, seconds for a small one).
 * Returns undefined, with the reason, when it cannot be built (no histories, no .venv): the stack then
 * serves recommendations from the embedding profile only.
 */
export function ensureDemoRecommender(indexRoot: string, dataDir: string, say: (line: string) => void): { dir?: string; why?: string } {
  // The version alone says whether it was trained: the catalog's files are read (and hashed) only to train.
  const { dir: indexDir, manifest } = readIndexManifest(indexRoot);
  const dir = path.join(dataDir, 'recommenders', manifest.version);
  if (fs.existsSync(path.join(dir, 'manifest.json'))) return { dir };
  const { users } = readIndexCatalog(indexDir);
  const histories = users.filter((u) => u.items.length >= 3);
  if (histories.length < 10) return { why: `catalog index ${manifest.version} has ${histories.length} histories of 3 items or more (10 needed)` };
  const python = path.join(WORKSPACE_ROOT, '.venv', 'bin', 'python');
  if (!fs.existsSync(python)) return { why: `${python} is missing (npm run setup installs it)` };
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = fs.mkdtempSync(`${dir}.building-`);
  try {
    const data = path.join(tmp, 'histories.txt');
    fs.writeFileSync(data, histories.map((u) => `${u.userId} ${u.items.map((i) => i.id).join(' ')}`).join('\n') + '\n');
    say(`training the demo's sequential recommender on ${histories.length} histories of catalog index ${manifest.version} (tools/seqrec light, numpy) …`);
    const out = path.join(tmp, 'bundle');
    const r = spawnSync(python, ['-m', 'seqrec.light', 'train', '--data', data, '--out', out, '--name', DEMO_RECOMMENDER_NAME, '--max-seconds', '60'], {
      cwd: path.join(WORKSPACE_ROOT, 'tools', 'seqrec'),
      stdio: ['ignore', 'inherit', 'pipe'],
      encoding: 'utf8',
    });
    if (r.status !== 0) return { why: `seqrec.light exited ${r.status}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}` };
    fs.renameSync(out, dir);
    return { dir };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
