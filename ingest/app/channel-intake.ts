import { ErrorCategory, VigilError } from '../../platform/errors.js';
import { KeyedLock } from '../../platform/keyed-lock.js';
import type { Logger } from '../../platform/logger.js';
import type { ChannelFileResponse, ChannelItemResult, IngestResult } from '../../schemas/api.js';
import {
  type ChannelDocument,
  type ChannelItem,
  type ChannelVerdict,
  locateProblem,
} from '../domain/channels/channel.js';
import type { ChannelFileStore, ChargebackRecorder } from '../ports.js';
import type { IntakeItem, Ingestor } from './ingestor.js';

/** A file under a message id received before with other bytes: what the channel routes answer with 409. */
export class ChannelFileConflictError extends VigilError {
  /** The message id itself is not quoted: it is client text. */
  constructor(format: string) {
    super(
      'CHANNEL_FILE_CONFLICT',
      `a ${format} file with this message id was received before with other content; send a corrected file under a new message id`,
      {
        category: ErrorCategory.conflict,
        problems: [{ path: '/messageId', message: 'was received with other content' }],
      },
    );
  }
}

export interface ChannelIntakeDeps {
  readonly ingestor: Ingestor;
  readonly files: ChannelFileStore;
  readonly logger: Logger;
  /** Items handed to the ingestor per call: bounds one call's log append and locks whatever the file's size. */
  readonly itemsPerCall: number;
  /** Where the chargebacks of gateway events go; a document with verdicts and no recorder is refused. */
  readonly chargebacks?: ChargebackRecorder;
}

/** A channel file whose items are read as it is taken in: format and id known up front, items in file order. */
export interface ChannelFileSource {
  readonly format: string;
  /** The sender's id for the whole file; the idempotency key with the format. */
  readonly messageId: string;
  /** Read once, after the file-level decision; a reader of a spooled file streams them from disk. */
  readonly items: AsyncIterable<ChannelItem> | Iterable<ChannelItem>;
  /** Chargebacks the message reports (gateway events); recorded after the items, once per message. */
  readonly verdicts?: readonly ChannelVerdict[];
}

/** Where a streamed file's answer goes, slice by slice, so no file's results are all held at once. */
export interface ChannelResultSink {
  /** The file-level answer, once the file is known to be taken (new or duplicate); before any item's result. */
  start(file: ChannelFileResponse['file']): Promise<void> | void;
  /** One slice's results in file order; the next slice is read once this resolves (back-pressure). */
  results(results: readonly ChannelItemResult[]): Promise<void> | void;
}

export type ChannelFileSummary = ChannelFileResponse['summary'];

/**
 * Takes a channel file through the JSON API's path: file-level idempotency by format + message id and the
 * SHA-256 of the bytes, then every item — in slices of `itemsPerCall` — through the Ingestor (validation,
 * tokenisation, idempotency, the log, dead letters), with source FILE (or WEBHOOK) and the item's source document. Results come
 * back per item in file order, located in the file. At most one slice of items and results is held at a time
 * (`receiveStream`), whatever the file's size.
 */
export class ChannelIntake {
  private readonly locks = new KeyedLock();

  constructor(private readonly deps: ChannelIntakeDeps) {}

  /**
   * Ingests `document` whose bytes hash to `sha256`, answering with every item's result at once (gateway events,
   * small files). A file received before with the same bytes is answered again (status `duplicate`, each item a
   * duplicate of itself or rejected again, nothing written twice); the same message id with other bytes throws
   * ChannelFileConflictError before any item is looked at. Rejects with a retriable error when the log or the
   * receipt store is unavailable; what was accepted before is a duplicate on retry. `source` is FILE for uploaded
   * files, WEBHOOK for a gateway's events.
   */
  async receive(
    document: ChannelDocument,
    sha256: string,
    submittedBy: string | null,
    source: 'FILE' | 'WEBHOOK' = 'FILE',
  ): Promise<ChannelFileResponse> {
    let file: ChannelFileResponse['file'] | undefined;
    const results: ChannelItemResult[] = [];
    const summary = await this.receiveStream(document, sha256, submittedBy, source, {
      start: (taken) => {
        file = taken;
      },
      results: (slice) => {
        results.push(...slice);
      },
    });
    return { file: file!, results, summary };
  }

  /**
   * `receive` for a file read as it is ingested: the same decisions, but items are pulled from `document.items`
   * one slice (`itemsPerCall`) at a time and each slice's results handed to `sink` before the next is read. The
   * conflict (ChannelFileConflictError) is thrown before `sink.start`; an error after it (the log unavailable
   * mid-file) rejects with the file's receipt unwritten, so the whole file is taken again on retry — what was
   * accepted comes back `duplicate`.
   */
  async receiveStream(
    document: ChannelFileSource,
    sha256: string,
    submittedBy: string | null,
    source: 'FILE' | 'WEBHOOK',
    sink: ChannelResultSink,
  ): Promise<ChannelFileSummary> {
    const key = `${document.format}\n${document.messageId}`;
    const release = await this.locks.acquire([key]);
    try {
      const known = await this.deps.files.lookup(key);
      if (known !== undefined && known.sha256 !== sha256) throw new ChannelFileConflictError(document.format);
      await sink.start({
        format: document.format,
        messageId: document.messageId,
        sha256,
        status: known === undefined ? 'new' : 'duplicate',
      });
      const summary = { accepted: 0, duplicate: 0, rejected: 0, conflict: 0 };
      const deliver = async (results: readonly ChannelItemResult[]): Promise<void> => {
        for (const result of results) summary[result.status]++;
        await sink.results(results);
      };
      let slice: ChannelItem[] = [];
      const submit = async (): Promise<void> => {
        const items = slice;
        slice = [];
        const answers = await this.deps.ingestor.accept(items.map(intakeItemOf), source, submittedBy);
        await deliver(items.map((item, i) => located(item, answers[i]!)));
      };
      for await (const item of document.items) {
        slice.push(item);
        if (slice.length >= this.deps.itemsPerCall) await submit();
      }
      if (slice.length > 0) await submit();
      const verdicts = await this.recordVerdicts(document.verdicts ?? [], known !== undefined);
      if (verdicts.length > 0) await deliver(verdicts);
      if (known === undefined) await this.deps.files.remember({ key, sha256 });
      this.deps.logger.info('channel file received', {
        format: document.format,
        fileDuplicate: known !== undefined,
        items: summary.accepted + summary.duplicate + summary.rejected + summary.conflict,
        ...summary,
      });
      return summary;
    } finally {
      release();
    }
  }

  /**
   * Chargebacks of a message seen for the first time go onto the label path; a message received before answers
   * them as duplicates without a second label. (A crash between the labels and the receipt records them again on
   * the gateway's retry: the ledger reverses a payment once, whatever the number of FRAUD verdicts.)
   */
  private async recordVerdicts(verdicts: readonly ChannelVerdict[], seen: boolean): Promise<ChannelItemResult[]> {
    if (verdicts.length === 0) return [];
    const recorder = this.deps.chargebacks;
    if (recorder === undefined) throw new VigilError('INTERNAL', 'chargebacks reported with no recorder wired');
    const positions = seen ? [] : await recorder.record(verdicts);
    return verdicts.map((verdict, i) => ({
      transactionId: verdict.transactionId,
      status: seen ? 'duplicate' : 'accepted',
      ...(positions[i] === undefined ? {} : { partition: positions[i].partition, offset: positions[i].offset }),
      location: verdict.location,
      references: verdict.references,
    }));
  }
}

function intakeItemOf(item: ChannelItem): IntakeItem {
  return item.request === undefined
    ? {
        kind: 'unparseable',
        problems: item.problems,
        code: 'CHANNEL_ITEM_INVALID',
        reason: `${item.sourceDocument.format} item refused at ${item.location}`,
      }
    : { kind: 'parsed', body: item.request, sourceDocument: item.sourceDocument };
}

/** The ingestor's result with the item's location; validation problems moved to where the field is in the file. */
function located(item: ChannelItem, result: IngestResult): ChannelItemResult {
  const problems =
    result.problems === undefined || item.request === undefined
      ? result.problems
      : result.problems.map((problem) => locateProblem(problem, item));
  return {
    ...result,
    ...(problems === undefined ? {} : { problems }),
    location: item.location,
    references: item.sourceDocument.references,
  };
}
