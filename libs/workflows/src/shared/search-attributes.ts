// Search-attribute keys every ranksafe workflow sets, in one workflow-safe module (no I/O): the
// dev server registers them at start (libs/platform devServerArgs), workflows upsert them, and
// operators filter by them in the Temporal UI ("ModelName = 'minilm-l6-v2'").
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA = {
  DrillScenario: defineSearchAttributeKey('DrillScenario', SearchAttributeType.KEYWORD),
  DrillOutcome: defineSearchAttributeKey('DrillOutcome', SearchAttributeType.KEYWORD),
  ModelName: defineSearchAttributeKey('ModelName', SearchAttributeType.KEYWORD),
  ModelVersion: defineSearchAttributeKey('ModelVersion', SearchAttributeType.KEYWORD),
  /** What kind of operation: rollout, recovery, monitor, snapshot, drill. */
  Operation: defineSearchAttributeKey('Operation', SearchAttributeType.KEYWORD),
  /** The instance or tier it acts on, e.g. ranking-service-2 or ranking-service. */
  Target: defineSearchAttributeKey('Target', SearchAttributeType.KEYWORD),
  /** Where it stands for an operator: running, succeeded, rolled-back, unrecovered, failed … */
  OperationState: defineSearchAttributeKey('OperationState', SearchAttributeType.KEYWORD),
} as const;

/** name → type as `temporal server start-dev --search-attribute name=Type` takes it. */
export const SEARCH_ATTRIBUTE_TYPES: Record<string, 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'Text'> = Object.fromEntries(
  Object.values(SA).map((k) => [k.name, 'Keyword' as const]),
);
