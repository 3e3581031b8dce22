import { z } from 'zod';

/** A configuration error: one line that says which variable is wrong and how to fix it. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Env var holding a TCP port; 0 asks the OS for a free one. */
export const portVar = (fallback: number) =>
  z.coerce
    .number({ error: 'expected a port number 0..65535' })
    .int('expected a port number 0..65535')
    .min(0, 'expected a port number 0..65535')
    .max(65535, 'expected a port number 0..65535')
    .default(fallback);

/** Variables every ranksafe gRPC service reads (documented in README "Configuration"). */
export const serviceEnvSchema = z.object({
  GRPC_HOST: z.string().min(1).default('127.0.0.1'),
  GRPC_PORT: portVar(0),
  /** Prometheus /metrics and /healthz; 0 = a free port, -1 = disabled. */
  METRICS_PORT: z.coerce.number().int().min(-1).max(65535).default(0),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Token required by admin and fault-injection RPCs. Unset = every admin RPC is denied. */
  ADMIN_TOKEN: z.string().min(16, 'ADMIN_TOKEN must be at least 16 characters').optional(),
  /** How long a SIGTERM waits for in-flight calls before forcing the server down. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),
  /** Replica name shown in logs, metrics and Admin.Describe. */
  INSTANCE_ID: z.string().min(1).optional(),
  /**
   * Admission control of the data-plane methods (see admission.ts): `on` sheds what the adaptive
   * concurrency limit cannot serve soon with RESOURCE_EXHAUSTED at once; `off` admits everything.
   */
  ADMISSION: z.enum(['on', 'off']).default('on'),
  /** The concurrency limit's start and bounds. */
  ADMISSION_INITIAL_LIMIT: z.coerce.number().int().min(1).default(8),
  ADMISSION_MIN_LIMIT: z.coerce.number().int().min(1).default(2),
  ADMISSION_MAX_LIMIT: z.coerce.number().int().min(1).default(256),
  /** A call slower than this (ms) shrinks the limit; each service sets its own default. */
  ADMISSION_TARGET_MS: z.coerce.number().int().min(1).default(250),
  /** The longest predicted queue wait (ms) a call may queue for; past it, it is shed at once. */
  ADMISSION_MAX_QUEUE_MS: z.coerce.number().int().min(0).default(50),
});
export type ServiceEnv = z.infer<typeof serviceEnvSchema>;

/**
 * Validate `env` against `schema`. Blank strings count as unset so that `FOO=` in a shell does
 * not turn into an invalid value. On failure throws a ConfigError naming every bad variable.
 */
export function loadConfig<S extends z.ZodType>(component: string, schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v.trim() !== '') cleaned[k] = v;
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new ConfigError(`invalid configuration for ${component}: ${problems}`);
}

/**
 * Run `main`, turning a ConfigError (or any startup failure marked `fatalStartup`) into one clear
 * line on stderr and exit code 2, instead of a stack trace.
 */
export function runMain(component: string, main: () => Promise<unknown>): void {
  main().catch((err: unknown) => {
    const e = err as Error & { fatalStartup?: boolean };
    if (e instanceof ConfigError || e.fatalStartup) {
      process.stderr.write(`error: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`error: ${component} failed: ${e.stack ?? String(e)}\n`);
    process.exit(1);
  });
}

/** An error at start-up that should be reported as one line (port in use, unreachable DB ...). */
export function startupError(message: string): Error {
  return Object.assign(new Error(message), { fatalStartup: true });
}
