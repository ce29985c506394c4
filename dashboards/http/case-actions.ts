import type { CaseActionRequest, CaseResolutionName } from '../../schemas/api.js';
import { type FieldProblem, ValidationError } from '../../platform/errors.js';
import { maskPans } from '../../platform/pan.js';

const MAX_NOTE_CHARS = 2000;
const principalIdPattern = /^[A-Za-z0-9._:@-]{1,200}$/;
const resolutions: readonly CaseResolutionName[] = ['fraud', 'genuine', 'escalated'];

/** The fields each action takes besides `action`. */
const fieldsOf: Record<CaseActionRequest['action'], readonly string[]> = {
  assign: ['assignee'],
  note: ['note'],
  investigate: [],
  resolve: ['resolution', 'note'],
  'approve-release': ['note'],
};

/**
 * Validates a `POST /v1/cases/{id}/actions` body, reporting every problem with its JSON pointer. Notes are free text
 * an analyst may paste a card number into: they are masked (first 6 / last 4, PCI DSS 3.4) before they go anywhere.
 */
export function parseCaseAction(body: unknown): CaseActionRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new ValidationError('case action must be a JSON object', [{ path: '', message: 'must be a JSON object' }]);
  const input = body as Record<string, unknown>;
  const problems: FieldProblem[] = [];
  const action = input['action'];
  if (typeof action !== 'string' || !(action in fieldsOf)) {
    problems.push({ path: '/action', message: `must be one of ${Object.keys(fieldsOf).join(', ')}` });
    throw new ValidationError('invalid case action', problems);
  }
  const kind = action as CaseActionRequest['action'];
  for (const key of Object.keys(input)) {
    if (key !== 'action' && !fieldsOf[kind].includes(key))
      problems.push({ path: `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, message: `is not a field of ${kind}` });
  }
  const { note, assignee, resolution } = input;
  const noteRequired = kind === 'note';
  if (
    (noteRequired || note !== undefined) &&
    (typeof note !== 'string' || note.trim() === '' || note.length > MAX_NOTE_CHARS)
  )
    problems.push({ path: '/note', message: `must be a non-empty string of at most ${MAX_NOTE_CHARS} characters` });
  if (
    kind === 'assign' &&
    assignee !== undefined &&
    (typeof assignee !== 'string' || !principalIdPattern.test(assignee))
  )
    problems.push({ path: '/assignee', message: 'must be a principal id (e.g. user:analyst), 1–200 characters' });
  if (kind === 'resolve' && !resolutions.includes(resolution as CaseResolutionName))
    problems.push({ path: '/resolution', message: `must be one of ${resolutions.join(', ')}` });
  if (problems.length > 0) throw new ValidationError('invalid case action', problems);
  const masked = typeof note === 'string' ? { note: maskPans(note) } : {};
  switch (kind) {
    case 'assign':
      return typeof assignee === 'string' ? { action: kind, assignee } : { action: kind };
    case 'note':
      return { action: kind, note: maskPans(note as string) };
    case 'investigate':
      return { action: kind };
    case 'resolve':
      return { action: kind, resolution: resolution as CaseResolutionName, ...masked };
    case 'approve-release':
      return { action: kind, ...masked };
  }
}
