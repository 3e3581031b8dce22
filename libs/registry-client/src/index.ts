// Typed clients of the model registry: what consumers (ranking, retrieval, npm start, ops) use to
// fetch, verify and cache artifacts, and to publish them.
export * from './fetcher';
export * from './publish';
