// tools/seqrec's numpy recommender (seqrec.light, in the project's .venv: no PyTorch) run from Node:
// what `npm start` trains the demo's recommender with, and what tests train a second version with.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WORKSPACE_ROOT } from './paths';

export const PROJECT_PYTHON = path.join(WORKSPACE_ROOT, '.venv', 'bin', 'python');

/**
 * Train a sequential-recommender bundle on `data` (one user a line: user id, then item ids in time
 * order) into `out` with seqrec.light. Progress lines go to this process's stdout when `progress`;
 * returns why it failed (the tool's last lines), or undefined when the bundle is written.
 */
export function trainLightRecommender(o: {
  data: string;
  out: string;
  name: string;
  maxSeconds?: number;
  seed?: number;
  /** 0 = untrained: the bundle of its random initial weights (a deliberately useless recommender, for drills). */
  epochs?: number;
  progress?: boolean;
}): string | undefined {
  if (!fs.existsSync(PROJECT_PYTHON)) return `${PROJECT_PYTHON} is missing (npm run setup installs it)`;
  const args = ['-m', 'seqrec.light', 'train', '--data', o.data, '--out', o.out, '--name', o.name, '--max-seconds', String(o.maxSeconds ?? 60)];
  if (o.seed !== undefined) args.push('--seed', String(o.seed));
  if (o.epochs !== undefined) args.push('--epochs', String(o.epochs));
  const r = spawnSync(PROJECT_PYTHON, args, {
    cwd: path.join(WORKSPACE_ROOT, 'tools', 'seqrec'),
    stdio: ['ignore', o.progress ? 'inherit' : 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: 10 * 60_000,
  });
  if (r.status === 0) return undefined;
  return `seqrec.light exited ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`;
}
