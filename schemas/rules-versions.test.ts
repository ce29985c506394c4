import { createHash } from 'node:crypto';
import { ValidationError } from '../platform/errors.js';
import type { RulesVersion } from './generated/types.js';
import { checkRulesVersion } from './rules-versions.js';

const rulesJson = '{"rules":[],"version":"2026.12.1"}';
const record: RulesVersion = {
  version: createHash('sha256').update(rulesJson, 'utf8').digest('hex'),
  label: '2026.12.1',
  rulesJson,
  publishedBy: 'admin:1a2b3c4d',
  publishedAtMs: Date.UTC(2026, 11, 1),
};

describe('checkRulesVersion', () => {
  it('given a record whose version hashes its document, then it is accepted as is', () => {
    expect(checkRulesVersion(record)).toBe(record);
  });

  it('given a document edited under the same version, then it is refused naming /version', () => {
    const edited = { ...record, rulesJson: '{"rules":[],"version":"2026.12.2"}' };
    expect(() => checkRulesVersion(edited)).toThrow(ValidationError);
    try {
      checkRulesVersion(edited);
    } catch (error) {
      expect((error as ValidationError).problems.map((p) => p.path)).toEqual(['/version']);
    }
  });
});
