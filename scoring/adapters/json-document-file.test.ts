import { ValidationError } from '../../platform/errors.js';
import { refusal, temporaryDirectory } from '../testing/operator-files.js';
import { type JsonDocumentKind, loadJsonDocumentFile, namingFile } from './json-document-file.js';
import { loadRulesFile } from './rules-file.js';

const KIND: JsonDocumentKind = { what: 'test file', unreadableCode: 'RULES_UNREADABLE' };

/** A stand-in compiler: an object with a string `name`, else every problem with its path. */
function compileNamed(document: unknown): string {
  const problems = [];
  if (typeof document !== 'object' || document === null) problems.push({ path: '', message: 'must be an object' });
  else {
    const { name, size } = document as { name?: unknown; size?: unknown };
    if (typeof name !== 'string') problems.push({ path: '/name', message: 'must be a string' });
    if (size !== undefined && typeof size !== 'number') problems.push({ path: '/size', message: 'must be a number' });
    if (problems.length === 0) return name as string;
  }
  throw new ValidationError(`document is invalid (${problems.length})`, problems, 'RULES_INVALID');
}

describe('an operator JSON document read from its file', () => {
  const dir = temporaryDirectory('vigil-json-document-');
  const file = (content: string): string => dir.write('document.json', content);

  test('a valid document is what the compiler makes of it', async () => {
    await expect(loadJsonDocumentFile(file('{"name":"ok"}'), KIND, compileNamed)).resolves.toBe('ok');
  });

  test('a missing file and a file that is not JSON are refused with the kind’s code, naming the file', async () => {
    const missing = dir.path('absent.json');
    const [code, message, paths] = await refusal(loadJsonDocumentFile(missing, KIND, compileNamed));
    expect([code, message.startsWith(`test file ${missing} is not readable JSON: ENOENT`), paths]).toEqual([
      'RULES_UNREADABLE',
      true,
      [''],
    ]);
    const broken = file('{"name": ');
    const [brokenCode, brokenMessage] = await refusal(loadJsonDocumentFile(broken, KIND, compileNamed));
    expect([brokenCode, brokenMessage.startsWith(`test file ${broken} is not readable JSON: `)]).toEqual([
      'RULES_UNREADABLE',
      true,
    ]);
  });

  test('an invalid document is refused whole: the compiler’s code and every path, the file and paths in the message', async () => {
    const path = file('{"size":"big"}');
    expect(await refusal(loadJsonDocumentFile(path, KIND, compileNamed))).toEqual([
      'RULES_INVALID',
      `${path}: document is invalid (2): /name must be a string; /size must be a number`,
      ['/name', '/size'],
    ]);
    // Negative control: the compiler's own refusal names no file, and the same expectation catches that.
    const bare = await refusal(Promise.resolve().then(() => compileNamed({ size: 'big' })));
    expect(bare[1].startsWith(`${path}: `)).toBe(false);
  });

  test('anything else the compiler throws passes through unchanged', async () => {
    const bug = new TypeError('a bug, not a bad file');
    const thrown = await loadJsonDocumentFile(file('{}'), KIND, () => {
      throw bug;
    }).catch((error: unknown) => error);
    expect(thrown).toBe(bug);
  });

  test('namingFile keeps code and problems', () => {
    const named = namingFile('the shipped table', new ValidationError('bad', [{ path: '/x', message: 'no' }]));
    expect([named.code, named.message, named.problems]).toEqual([
      'VALIDATION_FAILED',
      'the shipped table: bad: /x no',
      [{ path: '/x', message: 'no' }],
    ]);
  });

  test('the rules file goes through it: RULES_UNREADABLE and RULES_INVALID, each naming the file', async () => {
    const [unreadable] = await refusal(loadRulesFile(file('not json')));
    const invalid = file(
      '{"version":"v","rules":[{"code":"bad","description":"x","when":{"any":[]},"action":"REVIEW"}]}',
    );
    const [code, message, paths] = await refusal(loadRulesFile(invalid));
    expect([unreadable, code, message.startsWith(`${invalid}: rules file is invalid`), paths]).toEqual([
      'RULES_UNREADABLE',
      'RULES_INVALID',
      true,
      ['/rules/0/code', '/rules/0/when/any'],
    ]);
  });
});
