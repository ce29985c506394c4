import { readFile } from 'node:fs/promises';
import type { ErrorCode } from '../../platform/error-codes.js';
import { ValidationError } from '../../platform/errors.js';

/** How one kind of operator document is named and refused when its file cannot be read. */
export interface JsonDocumentKind {
  /** What the file is, as a message says it: "rules file", "FX rate file". */
  readonly what: string;
  /** The code of the refusal when the file is missing, unreadable or not JSON, e.g. RULES_UNREADABLE. */
  readonly unreadableCode: ErrorCode;
}

/**
 * Reads the JSON document an operator's file holds (the rules file, the FX rate file) and validates it whole with
 * `compile`, which throws ValidationError listing every problem with its JSON-pointer path. Throws ValidationError:
 * `kind.unreadableCode` when the file is missing, unreadable or not JSON (the file and the reason in the message,
 * one problem at path ""); else the compiler's own, with its code and problems and the file named
 * ({@link namingFile}). Anything else `compile` throws passes through unchanged.
 */
export async function loadJsonDocumentFile<T>(
  path: string,
  kind: JsonDocumentKind,
  compile: (document: unknown) => T,
): Promise<T> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new ValidationError(
      `${kind.what} ${path} is not readable JSON: ${(cause as Error).message}`,
      [{ path: '', message: (cause as Error).message }],
      kind.unreadableCode,
    );
  }
  try {
    return compile(document);
  } catch (error) {
    if (error instanceof ValidationError) throw namingFile(path, error);
    throw error;
  }
}

/**
 * `error` with `source` (a file, or what stood in for one) and every problem's path and message in its message, so a
 * refusal at start reads whole in one log line: "<source>: <message>: /rates/USD must be …; /date …". Code and
 * problems are kept.
 */
export function namingFile(source: string, error: ValidationError): ValidationError {
  return new ValidationError(
    `${source}: ${error.message}: ${error.problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
    error.problems,
    error.code,
  );
}
