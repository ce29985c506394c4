import type { LabelRequest } from '../../schemas/api.js';
import type { RecordPosition } from '../../platform/bus.js';
import { type FieldProblem, ValidationError } from '../../platform/errors.js';
import { maskPans } from '../../platform/pan.js';
import type { AnalystLabel, LabelValue } from '../../schemas/generated/types.js';
import { Topics } from '../../schemas/topics.js';
import type { DecidedTransaction } from '../queries/transactions.js';
import type { RoutesDeps } from './context.js';

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

/** The verdict `label` of `labelledBy` on a decided transaction, as analyst.labels carries it. */
export function labelOf(
  decided: DecidedTransaction,
  label: LabelValue,
  labelledBy: string,
  labelledAtMs: number,
  note: string | null,
): AnalystLabel {
  return {
    transactionId: decided.transactionId,
    label,
    labelledBy,
    labelledAtMs,
    transactionEventTimeMs: decided.eventTimeMs,
    payerAccountId: decided.payerAccountId,
    cardToken: decided.cardToken,
    terminalId: decided.terminalId,
    note,
  };
}

/**
 * Puts verdicts on analyst.labels, where ledger-sink books or voids holds and reverses posted fraud, and scoring's
 * label features read them. Keyed by the payer account like the transaction each judges (topics.ts), so the member
 * that decided and booked it also applies its verdicts; resolves only once the records are durable.
 */
export async function sendLabels(
  labels: RoutesDeps['labels'],
  verdicts: readonly AnalystLabel[],
): Promise<RecordPosition[]> {
  if (verdicts.length === 0) return [];
  return labels.producer.send(
    Topics.analystLabels,
    verdicts.map((label) => ({ key: label.payerAccountId ?? label.transactionId, value: labels.codec.encode(label) })),
  );
}
