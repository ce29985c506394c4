/**
 * docs/errors.md, rendered from the catalogue so operators can read every code without a running server (the
 * same text each server serves at /problems/<code>). Regenerate with `npx tsx platform/error-docs.ts`;
 * platform/error-docs.test.ts fails while the file is out of date.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type ErrorCode, errorCatalogue } from './error-codes.js';
import { problemTypePage } from './http.js';

export const errorDocsPath = fileURLToPath(new URL('../docs/errors.md', import.meta.url));

/** The Markdown of docs/errors.md: one section per code, in catalogue order. */
export function renderErrorDocs(): string {
  const sections = (Object.keys(errorCatalogue) as ErrorCode[]).map((code) => {
    const page = problemTypePage(code);
    return `## ${code}\n\nHTTP ${page.status} · ${page.category}\n\n${page.meaning}\n`;
  });
  return [
    '<!-- generated from platform/error-codes.ts by `npx tsx platform/error-docs.ts`: do not edit -->\n',
    '# Vigil error codes\n',
    'Every `code` a Vigil error carries: in problem responses (whose `type` is `/problems/<CODE>` on the server',
    'that answered, serving this same text), dead letters (`errorCode`) and log lines. The HTTP status applies when',
    'the error reaches an HTTP edge.\n',
    ...sections,
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeFileSync(errorDocsPath, renderErrorDocs());
