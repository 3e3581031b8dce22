import { hangFault, latencyFault } from './admin';
import { corruptArtifactFault } from './corrupt';
import { dbCutFault } from './db-cut';
import { gpuLostFault } from './gpu';
import { killFault } from './kill';
import { restoreFault } from './restore';
import { badRolloutFault } from './rollout';
import type { FaultDriver, FaultDrivers } from './types';

export * from './types';
export { KNOWN_BAD_ALIAS } from './rollout';

/** Every fault kind's driver (a new kind is one module and one line here). */
export const FAULT_DRIVERS: FaultDrivers = {
  kill: killFault,
  latency: latencyFault,
  hang: hangFault,
  restore: restoreFault,
  'bad-rollout': badRolloutFault,
  'corrupt-artifact': corruptArtifactFault,
  'db-cut': dbCutFault,
  'gpu-lost': gpuLostFault,
};

export function faultDriver(kind: string): FaultDriver {
  const d = (FAULT_DRIVERS as Record<string, FaultDriver | undefined>)[kind];
  if (!d) throw new Error(`no driver for fault kind "${kind}" (known: ${Object.keys(FAULT_DRIVERS).join(', ')})`);
  return d;
}
