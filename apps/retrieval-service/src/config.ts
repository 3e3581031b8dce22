import * as path from 'node:path';
import { z } from 'zod';
import { WORKSPACE_ROOT } from '@ranksafe/platform';
import { loadConfig, serviceEnvSchema } from '@ranksafe/serving-kit';

export const retrievalEnvSchema = serviceEnvSchema.extend({
  GRPC_PORT: serviceEnvSchema.shape.GRPC_PORT.default(50061),
  /** A call slower than this shrinks the admission limit (serving-kit ADMISSION_*). */
  ADMISSION_TARGET_MS: serviceEnvSchema.shape.ADMISSION_TARGET_MS.default(100),
  /** A catalog index directory (manifest.json inside), or a root whose CURRENT file names one. */
  RETRIEVAL_INDEX: z.string().default(path.join(WORKSPACE_ROOT, '.data', 'indexes', 'demo')),
  /** Model that embeds queries for dense retrieval: must be the model that embedded the catalog. */
  RETRIEVAL_MODEL_DIR: z.string().default(path.join(WORKSPACE_ROOT, 'models', 'minilm-l6-v2')),
  RETRIEVAL_MODEL_VARIANT: z.enum(['fp32', 'int8']).default('int8'),
  /** onnxruntime intra-op threads for query embedding (one short text: 1 is enough). */
  RETRIEVAL_INTRA_OP_THREADS: z.coerce.number().int().min(0).max(256).default(1),
  /** Default retrieval mode when a request leaves it unspecified. */
  RETRIEVAL_MODE: z.enum(['bm25', 'dense', 'hybrid']).default('hybrid'),
  /** Hybrid fusion: reciprocal rank fusion or a min-max normalised weighted blend. */
  RETRIEVAL_FUSION: z.enum(['rrf', 'weighted']).default('rrf'),
  RETRIEVAL_RRF_K: z.coerce.number().min(1).default(60),
  /** Share of the dense list in the fused score (0..1). */
  RETRIEVAL_DENSE_WEIGHT: z.coerce.number().min(0).max(1).default(0.5),
  /** HNSW search expansion (ef); higher is more exact and slower. */
  RETRIEVAL_HNSW_EF: z.coerce.number().int().min(1).max(4096).default(256),
  /** Largest top_n a request may ask for. */
  RETRIEVAL_MAX_TOP_N: z.coerce.number().int().min(1).max(10_000).default(1000),
  /** On LoadIndex: report NOT_SERVING this long before loading, so balancers move traffic away. */
  RETRIEVAL_RELOAD_DRAIN_MS: z.coerce.number().int().min(0).max(60_000).default(1500),
  /** model-registry host:port; LoadIndex with a registry_ref (alias or version) fetches through it. */
  RETRIEVAL_REGISTRY_ADDRESS: z.string().optional(),
  /** Where indexes fetched from the registry are unpacked (by sha256); kept for when the registry is down. */
  RETRIEVAL_REGISTRY_CACHE_DIR: z.string().default(path.join(WORKSPACE_ROOT, '.data', 'registry-cache', 'retrieval')),
  /** Registry name of the catalog index. */
  RETRIEVAL_INDEX_NAME: z.string().default('demo-catalog'),
  /** Load the index at start from the registry (alias or version) instead of RETRIEVAL_INDEX. */
  RETRIEVAL_INDEX_REF: z.string().optional(),
  /** Query embeddings kept in memory (LRU). */
  RETRIEVAL_QUERY_CACHE_SIZE: z.coerce.number().int().min(0).default(10_000),
});
export type RetrievalConfig = z.infer<typeof retrievalEnvSchema>;

export const loadRetrievalConfig = (env: NodeJS.ProcessEnv = process.env) => loadConfig('retrieval-service', retrievalEnvSchema, env);
