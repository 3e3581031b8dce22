import { status } from '@grpc/grpc-js';

/** Base of every typed registry error; `grpcStatus` is what a gRPC layer should answer with. */
export class RegistryError extends Error {
  readonly grpcStatus: status = status.INTERNAL;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends RegistryError {
  override readonly grpcStatus = status.INVALID_ARGUMENT;
}

export class NotFoundError extends RegistryError {
  override readonly grpcStatus = status.NOT_FOUND;
}

export class AlreadyExistsError extends RegistryError {
  override readonly grpcStatus = status.ALREADY_EXISTS;
}

/** The operation is refused in the current state (e.g. deleting a version an alias points at). */
export class FailedPreconditionError extends RegistryError {
  override readonly grpcStatus = status.FAILED_PRECONDITION;
  constructor(
    message: string,
    /** Aliases that block the operation, when that is the reason. */
    readonly aliases: string[] = [],
  ) {
    super(message);
  }
}

/** Compare-and-set lost: the alias does not point where the caller expected. */
export class CasConflictError extends RegistryError {
  override readonly grpcStatus = status.ABORTED;
  constructor(
    message: string,
    /** The version the alias points at now ('' when it does not exist). */
    readonly currentVersion: string,
  ) {
    super(message);
  }
}

/** The uploaded bytes differ from the declared sha256 / size. */
export class ArtifactMismatchError extends RegistryError {
  override readonly grpcStatus = status.INVALID_ARGUMENT;
}

/** The upload exceeds the size limit (declared or actual). */
export class ArtifactTooLargeError extends RegistryError {
  override readonly grpcStatus = status.RESOURCE_EXHAUSTED;
}

/** A stored artifact is missing or its bytes no longer match its sha256 (detected on read). */
export class ArtifactIntegrityError extends RegistryError {
  override readonly grpcStatus = status.DATA_LOSS;
}
