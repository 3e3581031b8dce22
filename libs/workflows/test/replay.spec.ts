// Replays every committed workflow history (test/histories/*.history.pb) against today's workflow
// code: a change that is not deterministic for runs already in flight fails here. Change a
// running workflow's logic with patched()/deprecatePatch(), then refresh the histories with
//   RECORD_HISTORIES=1 node --import tsx infra/stack/with-deps.ts -- npx jest -c libs/workflows/jest.config.js
import * as fs from 'node:fs';
import * as path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { HISTORIES_DIR } from '@ranksafe/testing';
import { workflowBundlerOptions } from '@ranksafe/platform';

const files = fs.existsSync(HISTORIES_DIR)
  ? fs
      .readdirSync(HISTORIES_DIR)
      .filter((f) => f.endsWith('.history.pb'))
      .sort()
  : [];

describe('replay of committed workflow histories', () => {
  it('has histories to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s replays deterministically', async (file) => {
    const history = temporal.api.history.v1.History.decode(fs.readFileSync(path.join(HISTORIES_DIR, file)));
    await Worker.runReplayHistory(
      { workflowsPath: require.resolve('../src/index'), bundlerOptions: workflowBundlerOptions(), replayName: file },
      history,
      path.basename(file, '.history.pb'),
    );
  });
});
