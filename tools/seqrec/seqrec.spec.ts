// The sequential recommender's protocol code (tools/seqrec, Python): its unit tests run in the project's
// .venv (numpy only; PyTorch is not needed for the metrics and the split).
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '../..');

describe('tools/seqrec', () => {
  it('metrics and the leave-one-out split pass their hand-computed cases', () => {
    const r = spawnSync(path.join(root, '.venv/bin/python'), ['-m', 'unittest', 'discover', '-v', '-s', 'tools/seqrec/tests'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status !== 0) throw new Error(`python unittest exited ${r.status}:\n${r.stderr}${r.stdout}`);
    expect(r.stderr).toMatch(/Ran \d+ tests/);
    expect(r.stderr).toMatch(/\nOK\s*$/);
  });
});
