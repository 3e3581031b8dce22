/** What failed a check, when one file did: which file, what its manifest (or record) says, what its bytes are. */
export interface IntegrityDetail {
  file?: string;
  expected?: string;
  actual?: string;
}

/**
 * An artifact whose bytes are not what its manifest or record says (or that is missing): never load,
 * serve or restore it. The one integrity error of the workspace: engines refuse the load with it, the
 * registry answers it as DATA_LOSS, the services as FAILED_PRECONDITION.
 */
export class ArtifactIntegrityError extends Error {
  readonly file?: string;
  readonly expected?: string;
  readonly actual?: string;

  constructor(message: string, detail: IntegrityDetail = {}) {
    super(message);
    this.name = 'ArtifactIntegrityError';
    this.file = detail.file;
    this.expected = detail.expected;
    this.actual = detail.actual;
  }
}
