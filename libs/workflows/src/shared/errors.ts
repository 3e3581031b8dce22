import { ApplicationFailure } from '@temporalio/workflow';

/** Bad workflow input: non-retryable, with every problem named (zod-like issues flattened). */
export function invalidInput(workflow: string, problems: string[]): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'InvalidInput',
    nonRetryable: true,
    message: `${workflow}: invalid input: ${problems.join('; ')}`,
    details: problems,
  });
}

export const errorMessage = (e: unknown): string => {
  if (e instanceof ApplicationFailure || e instanceof Error) {
    const cause = (e as Error & { cause?: unknown }).cause;
    return cause instanceof Error && cause.message && cause.message !== e.message ? `${e.message}: ${cause.message}` : e.message;
  }
  return String(e);
};
