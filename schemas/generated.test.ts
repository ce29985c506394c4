import { readFileSync } from 'node:fs';
import { generatedTypesPath, renderTypes } from './generate.js';

describe('generated types', () => {
  it('are up to date with schemas/avro (run `npm run schemas:generate` after changing a schema)', () => {
    expect(readFileSync(generatedTypesPath, 'utf8')).toBe(renderTypes());
  });
});
