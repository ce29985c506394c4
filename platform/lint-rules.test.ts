import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

/**
 * Guard rails for eslint.config.js: plant each kind of import violation in a real-looking path and check the rule
 * that must catch it fires (and that clean code passes, so these tests can fail both ways). Uses the real config,
 * type-aware linting included, so it is slow: generous timeouts.
 */
const root = resolve(import.meta.dirname, '..');
const TIMEOUT = 120_000;
// Virtual files (lintText) are unknown to the TypeScript project service, so type-aware rules are switched off for
// them only; every import rule comes from the real eslint.config.js unchanged.
const virtualFiles = ['**/planted.ts', '**/planted.test.ts', '**/planted.int.test.ts', '**/planted.e2e.test.ts'];
const eslint = new ESLint({
  cwd: root,
  overrideConfig: [{ files: virtualFiles, ...tseslint.configs.disableTypeChecked }],
});

interface Finding {
  readonly ruleId: string | null;
  readonly message: string;
}

async function lint(filePath: string, code: string): Promise<Finding[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, filePath) });
  if (!result) throw new Error(`no lint result for ${filePath}`);
  return result.messages.map(({ ruleId, message }) => ({ ruleId, message }));
}

const restricted = (message: string): unknown =>
  expect.objectContaining({ ruleId: 'no-restricted-imports', message: expect.stringContaining(message) as string });

describe('eslint guard rails', () => {
  it(
    'passes a clean domain file that imports only platform/ and schemas/',
    async () => {
      const findings = await lint(
        'ingest/domain/planted.ts',
        "import '../../schemas/topics.js';\nimport '../../platform/errors.js';\nexport const planted = 1;\n",
      );
      expect(findings).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'keeps the stage boundary inside domain/ alongside the purity rules',
    async () => {
      const findings = await lint(
        'ingest/domain/planted.ts',
        "import '../../scoring/domain/model.js';\nimport 'node:fs';\nexport const planted = 1;\n",
      );
      expect(findings).toEqual(
        expect.arrayContaining([
          restricted('ingest/ must not import scoring/'),
          restricted('domain/ code does no I/O'),
        ]),
      );
    },
    TIMEOUT,
  );

  it(
    'flags node:fs in a domain file',
    async () => {
      const findings = await lint('scoring/domain/planted.ts', "import 'node:fs';\nexport const planted = 1;\n");
      expect(findings).toEqual([restricted('domain/ code does no I/O')]);
    },
    TIMEOUT,
  );

  it(
    'flags a stage importing another stage from a non-domain file',
    async () => {
      const findings = await lint('ledger-sink/app/planted.ts', "import '../../dashboards/main.js';\n");
      expect(findings).toEqual([restricted('ledger-sink/ must not import dashboards/')]);
    },
    TIMEOUT,
  );

  it(
    'flags a stage test importing another stage',
    async () => {
      const findings = await lint(
        'dashboards/http/planted.test.ts',
        "import '../../ledger-sink/testing/fixtures.js';\n",
      );
      expect(findings).toEqual([restricted('dashboards/ must not import ledger-sink/')]);
    },
    TIMEOUT,
  );

  it(
    'flags platform/ importing a stage',
    async () => {
      const findings = await lint('platform/planted.ts', "import '../ingest/main.js';\n");
      expect(findings).toEqual([restricted('platform/ must not import ingest/')]);
    },
    TIMEOUT,
  );

  it(
    'flags production platform/ importing schemas/ but lets platform tests use it',
    async () => {
      expect(await lint('platform/planted.ts', "import '../schemas/topics.js';\n")).toEqual([
        restricted('production platform/ code must not import schemas/'),
      ]);
      expect(await lint('platform/planted.test.ts', "import '../schemas/topics.js';\n")).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'flags schemas/ importing a stage',
    async () => {
      const findings = await lint('schemas/planted.ts', "import '../scoring/ports.js';\n");
      expect(findings).toEqual([restricted('schemas/ must not import scoring/')]);
    },
    TIMEOUT,
  );

  it(
    'flags simulator/ importing model-lab/',
    async () => {
      const findings = await lint('simulator/planted.ts', "import '../model-lab/training/synthetic.js';\n");
      expect(findings).toEqual([restricted('simulator/ must not import model-lab/')]);
    },
    TIMEOUT,
  );

  it(
    'flags identity-provider/ importing a stage or a composition root',
    async () => {
      const findings = await lint(
        'identity-provider/planted.ts',
        "import '../dashboards/ports.js';\nimport '../embedded/secrets.js';\n",
      );
      expect(findings).toEqual([
        restricted('identity-provider/ must not import dashboards/'),
        restricted('identity-provider/ must not import embedded/'),
      ]);
    },
    TIMEOUT,
  );

  it(
    'flags production stage code importing simulator/',
    async () => {
      const findings = await lint('ingest/app/planted.ts', "import '../../simulator/generator.js';\n");
      expect(findings).toEqual([restricted('production ingest/ code must not import simulator/')]);
    },
    TIMEOUT,
  );

  it(
    'flags production stage code importing model-lab/',
    async () => {
      const findings = await lint('scoring/app/planted.ts', "import '../../model-lab/training/synthetic.js';\n");
      expect(findings).toEqual([restricted('production scoring/ code must not import model-lab/')]);
    },
    TIMEOUT,
  );

  it(
    'flags production code importing a testing/ folder, but not a test file',
    async () => {
      expect(await lint('ingest/app/planted.ts', "import '../testing/fixtures.js';\n")).toEqual([
        restricted('production code must not import a testing/ folder'),
      ]);
      expect(await lint('ingest/app/planted.test.ts', "import '../testing/fixtures.js';\n")).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'lets model-lab/ import scoring/domain/ only, not other scoring/ code',
    async () => {
      expect(await lint('model-lab/planted.ts', "import '../scoring/domain/features.js';\n")).toEqual([]);
      expect(await lint('model-lab/planted.ts', "import '../scoring/app/scorer.js';\n")).toEqual([
        restricted('model-lab/ may import only scoring/domain/'),
      ]);
      expect(await lint('model-lab/planted.ts', "import '../ingest/main.js';\n")).toEqual([
        restricted('model-lab/ must not import ingest/'),
      ]);
    },
    TIMEOUT,
  );

  it(
    "keeps the console's browser code off Node and the server's code: types from schemas/, calls through the API",
    async () => {
      const file = 'dashboards/console/src/planted.ts';
      expect(
        await lint(file, "import type { CaseView } from '../../../schemas/api.js';\nexport type Planted = CaseView;\n"),
      ).toEqual([]);
      expect(await lint(file, "import 'node:fs';\n")).toEqual([restricted('the console runs in the browser')]);
      expect(await lint(file, "import '../../http/case-routes.js';\n")).toEqual([
        restricted('the console reaches the dashboards only through their API'),
      ]);
      expect(await lint(file, "import '../../../platform/errors.js';\n")).toEqual([
        restricted('the console (browser code) must not import platform/'),
      ]);
      expect(await lint(file, "import '../../../ledger-sink/domain/holds.js';\n")).toEqual([
        restricted('the console must not import ledger-sink/'),
        restricted('the console reaches the dashboards only through their API'),
      ]);
    },
    TIMEOUT,
  );

  describe('import cycles', () => {
    // Real files: no-cycle follows imports on disk. The folder is in eslint.config.js ignores so that a lint run
    // racing this test never sees it; `ignore: false` lints it here anyway.
    const dir = join(root, 'platform', '__planted__');
    const files = { a: join(dir, 'a.ts'), b: join(dir, 'b.ts'), c: join(dir, 'c.ts') };

    beforeAll(() => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(files.a, "import { b } from './b.js';\nexport const a = (): number => b() + 1;\n");
      writeFileSync(files.b, "import { a } from './a.js';\nexport const b = (): number => a();\n");
      writeFileSync(files.c, "import { b } from './b.js';\nexport const c = (): number => b();\n");
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it(
      'resolves .js specifiers to .ts sources and reports a cycle',
      async () => {
        const results = await new ESLint({ cwd: root, ignore: false }).lintFiles([files.a]);
        expect(results[0]?.messages).toEqual([
          expect.objectContaining({ ruleId: 'import-x/no-cycle', message: 'Dependency cycle detected' }),
        ]);
      },
      TIMEOUT,
    );

    it(
      'does not report a file that only imports into a cycle',
      async () => {
        // c imports b but nothing imports c: the resolver works, and there is no cycle through c.
        const results = await new ESLint({ cwd: root, ignore: false }).lintFiles([files.c]);
        expect(results[0]?.messages).toEqual([]);
      },
      TIMEOUT,
    );
  });
});
