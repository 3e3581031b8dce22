// THE typed client of the model registry (RegistryClient: every RPC, CAS aliases, verified
// download), and what consumers (ranking, retrieval, npm start, ops, activities) build on it:
// the fetcher that verifies and caches artifacts, and publishing.
export * from './client';
export * from './fetcher';
export * from './publish';
