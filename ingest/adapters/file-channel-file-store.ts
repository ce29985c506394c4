import { join } from 'node:path';
import type { Logger } from '../../platform/logger.js';
import type { ChannelFileReceipt, ChannelFileStore } from '../ports.js';
import { FileIdempotencyStore, type IdempotencyWindow } from './file-idempotency-store.js';
import { sha256Hasher } from './crypto.js';

/**
 * The embedded channel-file store: the idempotency journal's machinery (append-only, group-synced, compacted past
 * its window) in a directory of its own, `<dataDir>/channel-files/`, one line per file. A file key is free text (an
 * ISO 20022 MsgId may hold spaces), so the journal holds `file-` and its SHA-256 instead; the log position fields of
 * a journal line mean nothing here and are written as 0.
 */
export class FileChannelFileStore implements ChannelFileStore {
  private constructor(private readonly journal: FileIdempotencyStore) {}

  /** Opens (creating if needed) the store under `dataDir`; receipts are kept for the window, like accepted ids. */
  static async open(dataDir: string, logger: Logger, window?: IdempotencyWindow): Promise<FileChannelFileStore> {
    return new FileChannelFileStore(await FileIdempotencyStore.open(join(dataDir, 'channel-files'), logger, window));
  }

  async lookup(key: string): Promise<ChannelFileReceipt | undefined> {
    const journalKey = journalKeyOf(key);
    const record = (await this.journal.lookup([journalKey])).get(journalKey);
    return record === undefined ? undefined : { key, sha256: record.fingerprint };
  }

  remember(receipt: ChannelFileReceipt): Promise<void> {
    return this.journal.remember([
      { transactionId: journalKeyOf(receipt.key), fingerprint: receipt.sha256, partition: 0, offset: 0 },
    ]);
  }

  isHealthy(): boolean {
    return this.journal.isHealthy();
  }

  close(): Promise<void> {
    return this.journal.close();
  }
}

const journalKeyOf = (key: string): string => `file-${sha256Hasher.sha256Hex(key)}`;
