import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Folders of src/ that each folder may not import. Dependencies point one way:
// cli → app → api and the consumers → core and delivery → store, queue, cache, signing.
// signing, config and observability import nothing else from src/.
const forbidden = {
  cli: ['api', 'core', 'delivery', 'store', 'queue'],
  app: ['cli'],
  api: ['cli', 'app'],
  core: ['cli', 'app', 'api', 'delivery'],
  delivery: ['cli', 'app', 'api', 'core'],
  store: ['cli', 'app', 'api', 'core', 'delivery', 'queue', 'cache'],
  queue: ['cli', 'app', 'api', 'core', 'delivery', 'cache'],
  cache: ['cli', 'app', 'api', 'core', 'delivery', 'store', 'queue'],
  signing: ['cli', 'app', 'api', 'core', 'delivery', 'store', 'queue', 'cache', 'config', 'observability'],
  config: ['cli', 'app', 'api', 'core', 'delivery', 'store', 'queue', 'cache', 'signing', 'observability'],
  observability: ['cli', 'app', 'api', 'core', 'delivery', 'store', 'queue', 'cache', 'signing', 'config'],
};

const boundaryRules = Object.entries(forbidden).map(([folder, targets]) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: targets.flatMap((target) => [`../${target}/*`, `../../${target}/*`, `../../${target}/**`]),
            message: `src/${folder} may not import this folder: dependencies in src/ point one way (see Layout in README.md).`,
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'portal/**', 'bench/results/**', 'data/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  ...boundaryRules,
  {
    // Tests read JSON responses whose shape each assertion checks field by field.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
