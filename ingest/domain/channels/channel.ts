import type { FieldProblem } from '../../../platform/errors.js';
import { canonicalJson } from '../../../platform/canonical-json.js';
import { containsPan } from '../../../platform/pan.js';
import type { TransactionRequest } from '../../../schemas/api.js';
import type { SourceDocument } from '../../../schemas/generated/types.js';
import type { ContentHasher } from '../../ports.js';

/**
 * The shape every channel parser (ISO 20022, CSV, …) maps a file into. Parsers are pure: bytes in, canonical
 * TransactionRequest items out, each with where it sat in the file, so a bad item is reported by its location while
 * the good items of the same file go through the same validation, tokenisation, scoring, ledger and audit as the
 * JSON API.
 */

/** One transaction a file carries, or the problems that kept it from being one. */
export interface ChannelItem {
  /** Where in the file: an element path (`/Document/CstmrCdtTrfInitn/PmtInf[1]/CdtTrfTxInf[2]`), a line, a record. */
  readonly location: string;
  /** The request to validate; absent when the file itself shows the item is bad (`problems`). */
  readonly request?: TransactionRequest;
  /** The format and the document's own references, kept on the transaction (Transaction v5 `sourceDocument`). */
  readonly sourceDocument: SourceDocument;
  /** What is wrong with the item, each at its location in the file; non-empty exactly when `request` is absent. */
  readonly problems: readonly FieldProblem[];
  /**
   * Where each request field came from (JSON pointer → location in the file), so a problem validation finds in the
   * request is reported where the sender can fix it.
   */
  readonly fieldLocations: Readonly<Record<string, string>>;
}

/**
 * A chargeback a gateway reports on a payment it sent before: recorded as a FRAUD verdict by `chargeback` on the
 * label path (analyst.labels), where the ledger reverses the booked payment as it does for an analyst's verdict.
 */
export interface ChannelVerdict {
  /** Where in the message, e.g. `/data/object` of a gateway event. */
  readonly location: string;
  /** The judged transaction: the id the payment got when its own event was ingested. */
  readonly transactionId: string;
  /** The payment's payer account when the message names it; null: the label is keyed by the transaction id. */
  readonly payerAccountId: string | null;
  /** Epoch ms the message gives for the payment (or, lacking that, for the chargeback itself). */
  readonly transactionEventTimeMs: number;
  /** The gateway's reason, kept on the label. */
  readonly note: string;
  readonly references: Readonly<Record<string, string>>;
}

/** A file the channel could read: its format, the id its sender gave it, and its items in file order. */
export interface ChannelDocument {
  /** The message definition or format, e.g. `pain.001.001.09`. */
  readonly format: string;
  /** The sender's id for the whole file (ISO 20022 `GrpHdr/MsgId`, a gateway's event id); the idempotency key. */
  readonly messageId: string;
  readonly items: readonly ChannelItem[];
  /** Chargebacks the message reports (gateway events); recorded after the items, once per message. */
  readonly verdicts?: readonly ChannelVerdict[];
}

/** A parser's answer: the document, or why the whole file was refused (each problem with its location). */
export type ChannelParse =
  | { readonly ok: true; readonly document: ChannelDocument }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] };

/** What a file read as it arrives gives at its end: its format and id, or why it is refused as a whole. */
export type ChannelFileVerdict =
  | { readonly ok: true; readonly format: string; readonly messageId: string }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] };

/**
 * A channel file read as it arrives (NACHA by records, ISO 20022 by XML events), holding a bounded part of it: `push`
 * each chunk and take the items it completed, in file order, then `end`. Items come out only while the file is
 * sound so far; only the verdict says whether it is sound as a whole (a NACHA file control, the end of an XML
 * document), so a caller takes no item before it has the verdict — the channel routes read a file twice, once to
 * check it and once to ingest it (http/channels.ts).
 */
export interface ChannelFileReader {
  push(chunk: Uint8Array): ChannelItem[];
  end(): { readonly items: ChannelItem[]; readonly verdict: ChannelFileVerdict };
}

/** A file held whole, read by `reader` in one chunk: the document, or the file's refusal. */
export function readWhole(reader: ChannelFileReader, bytes: Uint8Array): ChannelParse {
  const items = reader.push(bytes);
  const { items: last, verdict } = reader.end();
  if (!verdict.ok) return verdict;
  return { ok: true, document: { format: verdict.format, messageId: verdict.messageId, items: [...items, ...last] } };
}

/** The most problems a refused file is answered with: a 100 MB file of bad records must not make a 1 GB answer. */
export const MAX_FILE_PROBLEMS = 100;

/** A file's problems, the first MAX_FILE_PROBLEMS kept and the rest counted. */
export class ProblemList {
  private readonly kept: FieldProblem[] = [];
  private more = 0;

  push(problem: FieldProblem): void {
    if (this.kept.length < MAX_FILE_PROBLEMS) this.kept.push(problem);
    else this.more++;
  }

  get empty(): boolean {
    return this.kept.length === 0;
  }

  /** The kept problems, and one more saying how many were left out. */
  list(): FieldProblem[] {
    return this.more === 0
      ? [...this.kept]
      : [...this.kept, { path: '', message: `and ${this.more} more problems, left out of this answer` }];
  }
}

/**
 * A transaction id for an item identified by `key` (e.g. message family, MsgId, InstrId): `<prefix>-` and 40 hex
 * characters of the SHA-256 of the key's canonical JSON. A file's ids are free text (ISO 20022 Max35Text allows
 * spaces and slashes), which transaction ids may not hold, and joining them with a separator would be ambiguous;
 * hashing keeps the id deterministic, so a resent file or a return naming its original arrives at the same id. The
 * readable ids stay on the transaction in `sourceDocument.references`.
 */
export function channelTransactionId(prefix: string, key: readonly string[], hasher: ContentHasher): string {
  return `${prefix}-${hasher.sha256Hex(canonicalJson(key)).slice(0, 40)}`;
}

/** Why a reference holding a card number is refused; never echoes it. */
export const PAN_IN_REFERENCE =
  'holds a card number (13–19 digits passing the Luhn check); references must not carry card data';

/** C0 controls and DEL, which no id or reference of a file may carry (they would reach analysts' screens). */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * Checks the references a file gives an item (`name → [value, location]`) and keeps the good ones: a reference
 * holding a card number or a control character is a problem at its location (PAN rule: identifiers with a card
 * number are refused, not masked, since masking would change what they identify).
 */
export function checkedReferences(
  references: ReadonlyArray<readonly [name: string, value: string | undefined, location: string]>,
  problems: FieldProblem[],
): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value, location] of references) {
    if (value === undefined) continue;
    if (hasControlCharacter(value)) problems.push({ path: location, message: 'must not contain control characters' });
    else if (containsPan(value)) problems.push({ path: location, message: PAN_IN_REFERENCE });
    else kept[name] = value;
  }
  return kept;
}

/**
 * A validation problem of an item's request, moved to where the field came from in the file: the exact field's
 * location when the parser recorded one, else its nearest recorded parent's, else the item's; the request pointer
 * stays in the message so nothing is lost.
 */
export function locateProblem(problem: FieldProblem, item: ChannelItem): FieldProblem {
  for (let pointer = problem.path; ; pointer = pointer.slice(0, pointer.lastIndexOf('/'))) {
    const location = item.fieldLocations[pointer];
    if (location !== undefined)
      return {
        path: location,
        message: pointer === problem.path ? problem.message : `${problem.path} ${problem.message}`,
      };
    if (pointer === '') return { path: item.location, message: `${problem.path} ${problem.message}`.trim() };
  }
}
