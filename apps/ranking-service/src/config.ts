import * as path from 'node:path';
import { z } from 'zod';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { loadConfig, serviceEnvSchema } from '@ranksafe/serving-kit';

export const rankingEnvSchema = serviceEnvSchema.extend({
  GRPC_PORT: serviceEnvSchema.shape.GRPC_PORT.default(50071),
  /** A call slower than this shrinks the admission limit (serving-kit ADMISSION_*). */
  ADMISSION_TARGET_MS: serviceEnvSchema.shape.ADMISSION_TARGET_MS.default(200),
  /** Model directory (manifest.json + artifacts) loaded at start. */
  RANKING_MODEL_DIR: z.string().default(path.join(WORKSPACE_ROOT, 'models', 'minilm-l6-v2')),
  /** Which artifact of the manifest: fp32 or int8. */
  RANKING_MODEL_VARIANT: z.enum(['fp32', 'int8']).default('int8'),
  RANKING_EXECUTION_PROVIDER: z.enum(['cpu', 'cuda']).default('cpu'),
  /** With cuda asked for but missing: fail at start (default) or fall back to cpu with a warning. */
  RANKING_CUDA_FALLBACK: z.enum(['fail', 'cpu']).default('fail'),
  /**
   * CPU priority (nice, 0..19) the process gives itself at start, before any onnxruntime thread:
   * where ranking shares cores with retrieval and the gateway (the embedded stack), the cheap
   * latency-critical stages win the CPU under overload and ranking, which degrades gracefully, yields.
   * 0 = as started.
   */
  RANKING_NICE: z.coerce.number().int().min(0).max(19).default(5),
  /** onnxruntime intra-op threads; 0 = its default (all cores). */
  RANKING_INTRA_OP_THREADS: z.coerce.number().int().min(0).max(256).default(0),
  /** Most texts the dynamic batcher merges into one batch. */
  RANKING_MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(1024).default(32),
  /** Most texts per onnxruntime run: a larger batch is length-sorted and run in chunks this size. */
  RANKING_RUN_BATCH_SIZE: z.coerce.number().int().min(1).max(1024).default(8),
  RANKING_MAX_QUEUE_DELAY_MS: z.coerce.number().min(0).max(1000).default(0),
  RANKING_MAX_QUEUE_SIZE: z.coerce.number().int().min(1).default(4096),
  RANKING_CACHE_SIZE: z.coerce.number().int().min(0).default(200_000),
  /** Weight of the retrieval score in the final score (0..1). */
  RANKING_RETRIEVAL_WEIGHT: z.coerce.number().min(0).max(1).default(0.4),
  /**
   * Catalog index whose product embeddings warm the cache when they were computed by the model
   * being loaded (same sha256); unset = no warming. `npm start` points it at the stack's index.
   */
  RANKING_PRIME_INDEX: z.string().optional(),
  /**
   * When the catalog index was embedded by another model version (a candidate beside production),
   * how many of its products the loaded model embeds itself, in the background after LoadModel,
   * to warm its cache before it takes traffic (ListModels reports the progress; LoadModel's
   * wait_for_warm waits for it). 0 = none.
   */
  RANKING_WARM_TOP_N: z.coerce.number().int().min(0).default(2000),
  /** model-registry host:port; LoadModel with a registry_ref (alias or version) fetches through it. */
  RANKING_REGISTRY_ADDRESS: z.string().optional(),
  /** Where models fetched from the registry are unpacked (by sha256); kept for when the registry is down. */
  RANKING_REGISTRY_CACHE_DIR: z.string().default(path.join(WORKSPACE_ROOT, '.data', 'registry-cache', 'ranking')),
  /** Load the model at start from the registry (an alias such as production, or a version) instead of RANKING_MODEL_DIR. */
  RANKING_MODEL_REF: z.string().optional(),
  /** Registry name of the served model (LoadModel's model_name overrides it). */
  RANKING_MODEL_NAME: z.string().default('minilm-l6-v2'),
  /**
   * A sequential recommender (tools/seqrec bundle) loaded at start beside the search model: a model
   * directory, or a registry reference (alias or version) of RANKING_RECOMMENDER_NAME. Unset = none
   * (Recommend answers NOT_FOUND, and the gateway falls back to the embedding profile). Its vocabulary
   * is checked against RANKING_PRIME_INDEX.
   */
  RANKING_RECOMMENDER_DIR: z.string().optional(),
  RANKING_RECOMMENDER_REF: z.string().optional(),
  RANKING_RECOMMENDER_NAME: z.string().default('seqrec-demo'),
  /** A sequential recommender whose vocabulary covers less of the serving catalog's history items than this is refused at load. */
  RANKING_MIN_VOCAB_COVERAGE: z.coerce.number().min(0).max(1).default(0.95),
  /** Most candidates one Rank call may carry. */
  RANKING_MAX_CANDIDATES: z.coerce.number().int().min(1).max(10_000).default(1000),
});
export type RankingConfig = z.infer<typeof rankingEnvSchema>;

export const loadRankingConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig('ranking-service', rankingEnvSchema, env);
