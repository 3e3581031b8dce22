/** Base of every typed registry error (the gRPC layer maps each class to a status). */
export class RegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends RegistryError {}

export class NotFoundError extends RegistryError {}

export class AlreadyExistsError extends RegistryError {}

/** The operation is refused in the current state (e.g. deleting a version an alias points at). */
export class FailedPreconditionError extends RegistryError {
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
  constructor(
    message: string,
    /** The version the alias points at now ('' when it does not exist). */
    readonly currentVersion: string,
  ) {
    super(message);
  }
}

/** The uploaded bytes differ from the declared sha256 / size. */
export class ArtifactMismatchError extends RegistryError {}

/** The upload exceeds the size limit (declared or actual). */
export class ArtifactTooLargeError extends RegistryError {}

/**
 * A stored artifact is missing or its bytes no longer match its sha256 (detected on read): the
 * workspace's one ArtifactIntegrityError (not a RegistryError subclass; the registry service maps it
 * to DATA_LOSS all the same).
 */
export { ArtifactIntegrityError } from '@ranksafe/artifact-integrity';
