import { readFileSync } from 'node:fs';
import { errorCatalogue } from './error-codes.js';
import { errorDocsPath, renderErrorDocs } from './error-docs.js';

describe('docs/errors.md', () => {
  it('is the current rendering of the catalogue (regenerate: npx tsx platform/error-docs.ts)', () => {
    expect(readFileSync(errorDocsPath, 'utf8')).toBe(renderErrorDocs());
  });

  it('has one section per catalogue code', () => {
    const headings = renderErrorDocs().match(/^## .+$/gm) ?? [];
    expect(headings).toEqual(Object.keys(errorCatalogue).map((code) => `## ${code}`));
  });
});
