// The ops CLI: wires commander to one module per command group under commands/ (shared
// parsers, runner, output and clients in cli.ts).
import { Command } from 'commander';
import { loadStackEnv } from '@ranksafe/platform';
import { runMain } from '@ranksafe/serving-kit';
import { addDrillCommands } from './commands/drill';
import { addIndexCommands } from './commands/index';
import { addModelCommands } from './commands/model';
import { addOperationCommands } from './commands/operations';
import { addRolloutCommands } from './commands/rollout';
import { addServingCommands } from './commands/serving';
import { addSnapshotCommands } from './commands/snapshot';
import { addStatusCommands } from './commands/status';
import { addWorkflowCommands } from './commands/workflow';

runMain('ops', async () => {
  const program = new Command('ops').description('ranksafe operations: status, workflows, drills, rollouts, snapshots').showHelpAfterError();
  const loadEnv = () => loadStackEnv();
  addStatusCommands(program, loadEnv);
  addWorkflowCommands(program, loadEnv);
  addServingCommands(program, loadEnv);
  addIndexCommands(program, loadEnv);
  addModelCommands(program, loadEnv);
  addSnapshotCommands(program, loadEnv);
  addOperationCommands(program, loadEnv);
  addRolloutCommands(program, loadEnv);
  addDrillCommands(program, loadEnv);
  await program.parseAsync(process.argv);
});
