import { readFile } from 'node:fs/promises';
import { ValidationError } from '../../platform/errors.js';
import { type RuleSet, compileRules } from '../domain/rules.js';

/** Reads and validates a rules file; throws ValidationError (RULES_INVALID / RULES_UNREADABLE) naming the file. */
export async function loadRulesFile(path: string): Promise<RuleSet> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new ValidationError(
      `rules file ${path} is not readable JSON: ${(cause as Error).message}`,
      [{ path: '', message: (cause as Error).message }],
      'RULES_UNREADABLE',
    );
  }
  try {
    return compileRules(document);
  } catch (error) {
    if (error instanceof ValidationError) {
      throw new ValidationError(
        `${path}: ${error.message}: ${error.problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
        error.problems,
        error.code,
      );
    }
    throw error;
  }
}
