import { ErrorCategory, VigilError } from '../../platform/errors.js';
import { KeyedLock } from '../../platform/keyed-lock.js';
import type { Logger } from '../../platform/logger.js';
import type { ChannelFileResponse, ChannelItemResult, IngestResult } from '../../schemas/api.js';
import { type ChannelDocument, type ChannelItem, locateProblem } from '../domain/channels/channel.js';
import type { ChannelFileStore } from '../ports.js';
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
}

/**
 * Takes a parsed channel file through the JSON API's path: file-level idempotency by format + message id and the
 * SHA-256 of the bytes, then every item — in slices of `itemsPerCall` — through the Ingestor (validation,
 * tokenisation, idempotency, the log, dead letters), with source FILE and the item's source document. Results come
 * back per item in file order, located in the file.
 */
export class ChannelIntake {
  private readonly locks = new KeyedLock();

  constructor(private readonly deps: ChannelIntakeDeps) {}

  /**
   * Ingests `document` whose bytes hash to `sha256`. A file received before with the same bytes is answered again
   * (status `duplicate`, each item a duplicate of itself or rejected again, nothing written twice); the same message
   * id with other bytes throws ChannelFileConflictError before any item is looked at. Rejects with a retriable
   * error when the log or the receipt store is unavailable; what was accepted before is a duplicate on retry.
   */
  async receive(document: ChannelDocument, sha256: string, submittedBy: string | null): Promise<ChannelFileResponse> {
    const key = `${document.format}\n${document.messageId}`;
    const release = await this.locks.acquire([key]);
    try {
      const known = await this.deps.files.lookup(key);
      if (known !== undefined && known.sha256 !== sha256) throw new ChannelFileConflictError(document.format);
      const results: ChannelItemResult[] = [];
      for (let start = 0; start < document.items.length; start += this.deps.itemsPerCall) {
        const slice = document.items.slice(start, start + this.deps.itemsPerCall);
        const answers = await this.deps.ingestor.accept(slice.map(intakeItemOf), 'FILE', submittedBy);
        slice.forEach((item, i) => results.push(located(item, answers[i]!)));
      }
      if (known === undefined) await this.deps.files.remember({ key, sha256 });
      const summary = { accepted: 0, duplicate: 0, rejected: 0, conflict: 0 };
      for (const result of results) summary[result.status]++;
      this.deps.logger.info('channel file received', {
        format: document.format,
        fileDuplicate: known !== undefined,
        items: results.length,
        ...summary,
      });
      return {
        file: {
          format: document.format,
          messageId: document.messageId,
          sha256,
          status: known === undefined ? 'new' : 'duplicate',
        },
        results,
        summary,
      };
    } finally {
      release();
    }
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
