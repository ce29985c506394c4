// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

/*
 * Import zones. `no-restricted-imports` is configured once per file: in flat config the LAST matching config
 * object's setting of a rule wins and `patterns` are never merged, so every config object below carries the
 * COMPLETE list of patterns for the files it matches. Objects are ordered general → specific, and each later
 * one is a superset of the earlier one for the same files (all stage files → production files → domain files).
 * platform/lint-rules.test.ts plants a violation of every zone and checks the rule fires.
 */

const stages = ['ingest', 'scoring', 'ledger-sink', 'dashboards', 'notifier'];

/** Test code: `*.test.ts` files and the `testing/` helper folders. */
const testFiles = ['**/*.test.ts', '**/testing/**'];

/** A pattern banning imports of folder `name` (any depth, relative or bare). */
const folder = (name, message) => ({ group: [`**/${name}/**`, `**/${name}`], message });

const noTesting = folder('testing', 'production code must not import a testing/ folder; only *.test.ts files may.');

/** Domain code is pure: no I/O libraries, no node:* modules, no adapters. */
const purity = [
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
];

const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

/**
 * Each stage may import platform/ and schemas/ only: stages meet through topics, never through code. Production
 * stage code also never reaches into tooling (simulator/, model-lab/, bench/) or any testing/ folder; tests may use
 * testing/ folders, simulator/ and model-lab/ generators. Nothing in a stage imports the composition roots.
 */
const stageZones = stages.flatMap((stage) => {
  const boundary = [
    ...stages
      .filter((other) => other !== stage)
      .map((other) =>
        folder(other, `${stage}/ must not import ${other}/: stages meet only through topics and schemas/.`),
      ),
    ...['bench', 'embedded', 'distributed'].map((name) =>
      folder(name, `${stage}/ must not import ${name}/: composition roots and benchmarks depend on stages, not back.`),
    ),
  ];
  const production = [
    ...boundary,
    ...['simulator', 'model-lab'].map((name) =>
      folder(name, `production ${stage}/ code must not import ${name}/ (offline tooling); only tests may.`),
    ),
    noTesting,
  ];
  return [
    { files: [`${stage}/**/*.ts`], rules: restrict(boundary) },
    { files: [`${stage}/**/*.ts`], ignores: testFiles, rules: restrict(production) },
    { files: [`${stage}/domain/**/*.ts`], ignores: testFiles, rules: restrict([...production, ...purity]) },
  ];
});

const stageBans = (who) =>
  stages.map((stage) => folder(stage, `${who} must not import ${stage}/: stages depend on it, not the other way.`));

/**
 * Shared code. platform/ is the kernel: it imports no stage or tooling, and (production code) not even schemas/,
 * which itself builds on platform/; platform's own tests may use schemas/ fixtures. schemas/ may import platform/
 * only. simulator/ may import platform/ and schemas/. model-lab/ may import simulator/, schemas/, platform/ and of
 * scoring/ only domain/, ports.ts and the tfjs-model adapter (it trains the artefact that adapter loads); its
 * tests may also drive scoring/app/ (online/offline parity).
 */
const tooling = (who) =>
  ['simulator', 'model-lab', 'bench', 'embedded', 'distributed'].map((name) =>
    folder(name, `${who} must not import ${name}/.`),
  );
const platformTests = [...stageBans('platform/'), ...tooling('platform/')];
const schemasAll = [...stageBans('schemas/'), ...tooling('schemas/')];
const simulatorAll = [
  ...stageBans('simulator/'),
  ...['model-lab', 'bench', 'embedded', 'distributed'].map((name) =>
    folder(name, `simulator/ must not import ${name}/.`),
  ),
];
/** identity-provider/ (the built-in OpenID provider) stands beside the stages like the bank's would: platform/ only. */
const identityProviderAll = [
  ...stageBans('identity-provider/'),
  ...['simulator', 'model-lab', 'bench', 'embedded', 'distributed'].map((name) =>
    folder(name, `identity-provider/ must not import ${name}/.`),
  ),
];
const modelLabTests = [
  ...['ingest', 'ledger-sink', 'dashboards', 'notifier', 'bench', 'embedded', 'distributed'].map((name) =>
    folder(name, `model-lab/ must not import ${name}/.`),
  ),
  {
    regex: '(^|/)scoring(/(?!domain/|ports(\\.js)?$|adapters/(tfjs-model|rules-file)(\\.js)?$|app/)|$)',
    message:
      'model-lab/ may import only scoring/domain/, scoring/ports.ts, scoring/adapters/tfjs-model.ts and scoring/adapters/rules-file.ts (rules files read as scoring reads them).',
  },
];
const modelLabProduction = [
  ...modelLabTests.slice(0, -1),
  {
    regex: '(^|/)scoring(/(?!domain/|ports(\\.js)?$|adapters/(tfjs-model|rules-file)(\\.js)?$)|$)',
    message:
      'model-lab/ may import only scoring/domain/, scoring/ports.ts, scoring/adapters/tfjs-model.ts and scoring/adapters/rules-file.ts (rules files read as scoring reads them).',
  },
  noTesting,
];
/**
 * The console's browser code (dashboards/console/src) runs in the page: no Node modules, nothing of the server. It
 * reaches the dashboards only through their API (its generated client) and takes schemas/ for types only.
 */
const consoleBrowser = [
  ...stages
    .filter((other) => other !== 'dashboards')
    .map((other) => folder(other, `the console must not import ${other}/: it reaches the server through its API.`)),
  ...['platform', 'simulator', 'model-lab', 'bench', 'embedded', 'distributed', 'identity-provider'].map((name) =>
    folder(name, `the console (browser code) must not import ${name}/.`),
  ),
  {
    // a regex on the specifier: a group's bare `http` would also match the relative folder `../../http/`
    regex: '^(node:.*|fs|path|net|http|https|crypto|express|ws|kafkajs|chdb|@clickhouse/.*|@elastic/.*)$',
    message: 'the console runs in the browser: no Node modules and no server libraries.',
  },
  {
    group: ['**/http/**', '**/adapters/**', '**/app/**', '**/domain/**', '**/queries/**', '**/ws/**', '**/main'],
    message: 'the console reaches the dashboards only through their API (src/api/client.ts), never their code.',
  },
  noTesting,
];

const sharedZones = [
  { files: ['dashboards/console/src/**/*.{ts,tsx}'], rules: restrict(consoleBrowser) },
  { files: ['platform/**/*.ts'], rules: restrict(platformTests) },
  {
    files: ['platform/**/*.ts'],
    ignores: testFiles,
    rules: restrict([
      ...platformTests,
      folder('schemas', 'production platform/ code must not import schemas/: schemas/ builds on platform/.'),
      noTesting,
    ]),
  },
  { files: ['schemas/**/*.ts'], rules: restrict(schemasAll) },
  { files: ['schemas/**/*.ts'], ignores: testFiles, rules: restrict([...schemasAll, noTesting]) },
  { files: ['simulator/**/*.ts'], rules: restrict(simulatorAll) },
  { files: ['simulator/**/*.ts'], ignores: testFiles, rules: restrict([...simulatorAll, noTesting]) },
  { files: ['identity-provider/**/*.ts'], rules: restrict(identityProviderAll) },
  {
    files: ['identity-provider/**/*.ts'],
    ignores: testFiles,
    rules: restrict([...identityProviderAll, noTesting]),
  },
  { files: ['model-lab/**/*.ts'], rules: restrict(modelLabTests) },
  { files: ['model-lab/**/*.ts'], ignores: testFiles, rules: restrict(modelLabProduction) },
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.vigil-data/**',
      '.services/**',
      'dist/**',
      'dashboards/web/**',
      // the console's bundle, built from dashboards/console/src
      'dashboards/console/dist/**',
      'coverage/**',
      // planted-violation fixtures written (and removed) by platform/lint-rules.test.ts
      '**/__planted__/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js'] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      // what importX.flatConfigs.typescript sets, minus its legacy `import-x/resolver`: without `.ts` among the
      // extensions import-x parses no TypeScript dependency and no-cycle silently sees no edges
      'import-x/extensions': ['.ts', '.tsx', '.js'],
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      // without a resolver import-x resolves no `./x.js` → `./x.ts` import and no-cycle silently checks nothing
      'import-x/resolver-next': [
        createTypeScriptImportResolver({ project: `${import.meta.dirname}/tsconfig.json` }),
        createNodeResolver(),
      ],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'import-x/no-cycle': 'error',
      'no-console': 'error',
    },
  },
  ...stageZones,
  ...sharedZones,
  {
    files: [
      '**/*.test.ts',
      'bench/**/*.ts',
      'infra/**/*.ts',
      '**/cli.ts',
      '**/train.ts',
      '**/eval.ts',
      '**/backtest.ts',
    ],
    rules: { 'no-console': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  { files: ['**/*.js'], ...tseslint.configs.disableTypeChecked },
);
