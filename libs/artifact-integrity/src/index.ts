// Artifact integrity: sha256 of files, verified manifests, atomic durable writes, and the one
// ArtifactIntegrityError. Node's fs and crypto only (no gRPC, no pg), so every layer can use it.
export * from './errors';
export * from './digest';
export * from './manifest';
export * from './atomic';
