import type { LabelRequest } from '../../schemas/api.js';
import { type FieldProblem, ValidationError } from '../../platform/errors.js';
import { maskPans } from '../../platform/pan.js';

const transactionIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
const MAX_NOTE_CHARS = 2000;

/** Validates a `POST /v1/labels` body, reporting every problem with its JSON pointer (`/label`, `/note`). */
export function parseLabelRequest(body: unknown): LabelRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ValidationError('label request must be a JSON object', [{ path: '', message: 'must be a JSON object' }]);
  }
  const input = body as Record<string, unknown>;
  const problems: FieldProblem[] = [];
  const { transactionId, label, note } = input;
  if (typeof transactionId !== 'string' || !transactionIdPattern.test(transactionId)) {
    problems.push({ path: '/transactionId', message: 'must be 1–128 characters of [A-Za-z0-9._:-]' });
  }
  if (label !== 'fraud' && label !== 'genuine')
    problems.push({ path: '/label', message: 'must be "fraud" or "genuine"' });
  if (note !== undefined && (typeof note !== 'string' || note.length > MAX_NOTE_CHARS)) {
    problems.push({ path: '/note', message: `must be a string of at most ${MAX_NOTE_CHARS} characters` });
  }
  for (const key of Object.keys(input)) {
    if (!['transactionId', 'label', 'note'].includes(key))
      problems.push({ path: `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, message: 'is not a known field' });
  }
  if (problems.length > 0) throw new ValidationError('invalid label request', problems);
  return {
    transactionId: transactionId as string,
    label: label as LabelRequest['label'],
    // An analyst pasting a card number into a note must not put it on the log (PCI DSS 3.4): first 6 / last 4.
    ...(typeof note === 'string' ? { note: maskPans(note) } : {}),
  };
}
