import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../../platform/errors.js';
import { checkCandidate, findCandidate, loadCandidate } from './model-candidates.js';

/**
 * Candidates are named by the version in their metadata.json, found only in the candidates directory, and refused
 * with the directory and file when they do not fit this build.
 */
const artifact = fileURLToPath(new URL('../model/artifact', import.meta.url));

describe('model candidates', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-candidates-'));
    const add = (name: string, edit: (metadata: Record<string, unknown>) => Record<string, unknown>): void => {
      const at = join(dir, name);
      mkdirSync(at, { recursive: true });
      cpSync(artifact, at, { recursive: true });
      const metadata = JSON.parse(readFileSync(join(at, 'metadata.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(at, 'metadata.json'), JSON.stringify(edit(metadata)));
    };
    add('good', (m) => ({ ...m, version: 'cand-good' }));
    add('old-layout', (m) => ({ ...m, version: 'cand-old', featureNames: ['amount'] }));
    add('broken-weights', (m) => ({ ...m, version: 'cand-broken' }));
    writeFileSync(join(dir, 'broken-weights', 'weights.bin'), Buffer.alloc(8));
    mkdirSync(join(dir, 'notes')); // no metadata.json: names no version
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const problemsOf = async (run: Promise<unknown>) => {
    const error = (await run.then(
      () => undefined,
      (e: unknown) => e,
    )) as ValidationError;
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.code).toBe('SHADOW_INVALID');
    return error.problems;
  };

  it('finds a candidate by its metadata version and loads it', async () => {
    expect(await findCandidate(dir, 'cand-good')).toBe(join(dir, 'good'));
    const model = await loadCandidate(dir, 'cand-good');
    expect(model.version).toBe('cand-good');
    model.close();
  });

  it('refuses a version no candidate has, naming the directory', async () => {
    expect(await problemsOf(findCandidate(dir, 'good'))).toEqual([
      { path: '/modelVersion', message: `no artefact in ${dir} has metadata.json version good` },
    ]);
  });

  it('refuses a candidate whose features differ from this build, naming its metadata file', async () => {
    const problems = await problemsOf(checkCandidate(dir, 'cand-old'));
    expect(problems.map((p) => p.path)).toEqual(['/modelVersion']);
    expect(problems[0]!.message).toContain(join(dir, 'old-layout', 'metadata.json'));
    expect(problems[0]!.message).toContain('/featureNames');
  });

  it('refuses a candidate whose weights do not load', async () => {
    const problems = await problemsOf(checkCandidate(dir, 'cand-broken'));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(/broken-weights/);
  });

  it('refuses a candidates directory that does not exist', async () => {
    const problems = await problemsOf(findCandidate(join(dir, 'missing'), 'cand-good'));
    expect(problems[0]!.message).toContain(join(dir, 'missing'));
  });
});
