import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../../platform/errors.js';

/**
 * For tests of an operator's file (rules, FX rates): a fresh temporary directory for every test of the enclosing
 * `describe`, removed after it. `path` names a file in it; `write` writes one and returns its path.
 */
export function temporaryDirectory(prefix: string): {
  path(name: string): string;
  write(name: string, content: string): string;
} {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  return {
    path: (name) => join(dir, name),
    write(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
  };
}

/** What a refusal says: its code, its message and its problems' paths; fails the test when nothing is refused. */
export async function refusal(promise: Promise<unknown>): Promise<[string, string, string[]]> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    const e = error as ValidationError;
    return [e.code, e.message, e.problems.map((p) => p.path)];
  }
  throw new Error('expected the file to be refused');
}
