import { Metadata, status, type ServiceError } from '@grpc/grpc-js';

/** An error that carries a gRPC status; handlers throw these and the server wrapper sends them. */
export class GrpcError extends Error implements Partial<ServiceError> {
  readonly code: status;
  readonly details: string;
  readonly metadata: Metadata;
  constructor(code: status, message: string, meta: Record<string, string> = {}) {
    super(message);
    this.name = 'GrpcError';
    this.code = code;
    this.details = message;
    this.metadata = new Metadata();
    for (const [k, v] of Object.entries(meta)) this.metadata.set(k, v);
  }
}

/** INVALID_ARGUMENT naming the offending field (also in the `field` trailer). */
export const invalidArgument = (field: string, problem: string) => new GrpcError(status.INVALID_ARGUMENT, `${field}: ${problem}`, { field });
export const notFound = (what: string) => new GrpcError(status.NOT_FOUND, what);
export const failedPrecondition = (what: string) => new GrpcError(status.FAILED_PRECONDITION, what);
export const resourceExhausted = (what: string) => new GrpcError(status.RESOURCE_EXHAUSTED, what);
export const unavailable = (what: string) => new GrpcError(status.UNAVAILABLE, what);
export const deadlineExceeded = (what: string) => new GrpcError(status.DEADLINE_EXCEEDED, what);
export const unimplemented = (what: string) => new GrpcError(status.UNIMPLEMENTED, what);
export const aborted = (what: string) => new GrpcError(status.ABORTED, what);
export const alreadyExists = (what: string) => new GrpcError(status.ALREADY_EXISTS, what);
export const dataLoss = (what: string) => new GrpcError(status.DATA_LOSS, what);
export const unauthenticated = (what: string) => new GrpcError(status.UNAUTHENTICATED, what);
export const permissionDenied = (what: string) => new GrpcError(status.PERMISSION_DENIED, what);

/** Map anything thrown by a handler to a ServiceError; unknown errors become INTERNAL. */
export function toServiceError(err: unknown): Partial<ServiceError> & { code: status } {
  if (err instanceof GrpcError) return err;
  const e = err as Partial<ServiceError>;
  if (e && typeof e.code === 'number' && e.code >= 0 && e.code <= 16) {
    return { code: e.code, details: e.details ?? e.message ?? 'error', metadata: e.metadata };
  }
  return { code: status.INTERNAL, details: 'internal error' };
}

/** True when err is a gRPC error with the given status code. */
export const hasStatus = (err: unknown, code: status): boolean => typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
