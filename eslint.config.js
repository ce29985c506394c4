// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';

const stages = ['ingest', 'scoring', 'ledger-sink', 'dashboards'];

/** Each stage may import platform/ and schemas/ only: stages meet through topics, never through code. */
const stageBoundaries = stages.map((stage) => ({
  files: [`${stage}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: stages
          .filter((other) => other !== stage)
          .map((other) => ({
            group: [`**/${other}/**`, `**/${other}`],
            message: `${stage}/ must not import ${other}/: stages meet only through topics and schemas/.`,
          })),
      },
    ],
  },
}));

/** Domain code is pure: no I/O libraries, no node:* modules. */
const pureDomain = {
  files: ['**/domain/**/*.ts'],
  ignores: ['**/*.test.ts'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: ['node:*', 'fs', 'path', 'net', 'http', 'crypto'],
            message: 'domain/ code does no I/O; inject a port instead.',
          },
          {
            group: ['express', 'ws', 'kafkajs', 'chdb', 'chdb/*', '@clickhouse/*', '@elastic/*', '@tensorflow/*'],
            message: 'domain/ code imports no I/O library.',
          },
          {
            group: ['**/adapters/**', '**/http/**'],
            message: 'dependencies point inward: domain/ never imports adapters.',
          },
        ],
      },
    ],
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', '.vigil-data/**', '.services/**', 'dist/**', 'dashboards/web/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'import-x/no-cycle': 'error',
      'no-console': 'error',
    },
  },
  ...stageBoundaries,
  pureDomain,
  {
    files: ['**/*.test.ts', 'bench/**/*.ts', 'infra/**/*.ts', '**/cli.ts', '**/train.ts', '**/eval.ts'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
