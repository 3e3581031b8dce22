import * as fs from 'node:fs';
import * as path from 'node:path';

/** The workspace root: the nearest folder above this file holding nx.json. */
export const WORKSPACE_ROOT = (() => {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'nx.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
})();

/** Absolute data dir: RANKSAFE_DATA_DIR or <root>/.data. */
export function dataDir(configured?: string): string {
  return path.resolve(WORKSPACE_ROOT, configured ?? process.env.RANKSAFE_DATA_DIR ?? '.data');
}

export function ensureDir(p: string): string {
  fs.mkdirSync(p, { recursive: true });
  return p;
}
