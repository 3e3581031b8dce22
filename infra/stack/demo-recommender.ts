// `npm start` step: the demo's sequential recommender, trained on the served catalog's histories with
// tools/seqrec's numpy model (seqrec.light, in the project's .venv: no PyTorch), once per index version.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { trainLightRecommender } from '@ranksafe/platform';
import { readIndexCatalog, readIndexManifest } from '@ranksafe/retrieval-core';

/** Registry name of the demo recommender (what the ranking replicas load with production). */
export const DEMO_RECOMMENDER_NAME = 'seqrec-demo';

/**
 * The bundle directories of the recommender for the index at `indexRoot`: <data>/recommenders/<index version>,
 * trained now when it is not there yet (about a minute for the 100k demo shop, seconds for a small one), and
 * its known-bad twin <index version>-known-bad (the same model untrained: random weights, written in seconds),
 * which the bad-recommender-rollout drill rolls out and the quality gate must refuse.
 * Returns undefined, with the reason, when it cannot be built (no histories, no .venv): the stack then
 * serves recommendations from the embedding profile only.
 */
export function ensureDemoRecommender(indexRoot: string, dataDir: string, say: (line: string) => void): { dir?: string; knownBadDir?: string; why?: string } {
  // The version alone says whether it was trained: the catalog's files are read (and hashed) only to train.
  const { dir: indexDir, manifest } = readIndexManifest(indexRoot);
  const dir = path.join(dataDir, 'recommenders', manifest.version);
  const knownBadDir = `${dir}-known-bad`;
  const built = (d: string) => fs.existsSync(path.join(d, 'manifest.json'));
  if (built(dir) && built(knownBadDir)) return { dir, knownBadDir };
  const { users } = readIndexCatalog(indexDir);
  const histories = users.filter((u) => u.items.length >= 3);
  if (histories.length < 10) return { why: `catalog index ${manifest.version} has ${histories.length} histories of 3 items or more (10 needed)` };
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = fs.mkdtempSync(`${dir}.building-`);
  try {
    const data = path.join(tmp, 'histories.txt');
    fs.writeFileSync(data, histories.map((u) => `${u.userId} ${u.items.map((i) => i.id).join(' ')}`).join('\n') + '\n');
    for (const [target, untrained] of [
      [dir, false],
      [knownBadDir, true],
    ] as const) {
      if (built(target)) continue;
      say(
        untrained
          ? `writing its known-bad twin (untrained, for the bad-recommender-rollout drill) …`
          : `training the demo's sequential recommender on ${histories.length} histories of catalog index ${manifest.version} (tools/seqrec light, numpy) …`,
      );
      const out = path.join(tmp, untrained ? 'known-bad' : 'bundle');
      const why = trainLightRecommender({ data, out, name: DEMO_RECOMMENDER_NAME, maxSeconds: 60, progress: !untrained, ...(untrained ? { epochs: 0 } : {}) });
      if (why) return untrained ? { dir, why: `no known-bad recommender: ${why}` } : { why };
      fs.renameSync(out, target);
    }
    return { dir, knownBadDir };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
