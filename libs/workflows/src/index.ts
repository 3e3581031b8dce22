// Deterministic workflow code only: no I/O, no pg, no grpc. Activities are imported as types.
// One folder per workflow (workflow.ts runs it, messages.ts holds its queries/signals/updates);
// shared/ holds ids, search-attribute keys, the saga's compensations and the step log.
export * from './shared';
export * from './ping';
export * from './snapshot';
export * from './recover';
export * from './monitor';
export * from './rollout';
export * from './drill';
