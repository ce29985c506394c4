import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, pipeline } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { parse as csvParser } from 'csv-parse';
import type { Request, RequestHandler, Response, Router } from 'express';
import { ErrorCategory, ValidationError, VigilError } from '../../platform/errors.js';
import { principalOf, route } from '../../platform/http.js';
import type { Logger } from '../../platform/logger.js';
import type { ChannelItemResult } from '../../schemas/api.js';
import type { ChannelIntake, ChannelResultSink } from '../app/channel-intake.js';
import type { ChannelFileReader, ChannelFileVerdict, ChannelItem } from '../domain/channels/channel.js';
import { type CsvOptions, type CsvRecord, CsvLayout, csvParseOptions, csvRefusal } from '../domain/channels/csv/csv.js';

/** What a channel route needs besides its format. */
export interface ChannelRouteOptions {
  readonly intake: ChannelIntake;
  /** Authentication and role check; runs before the body is read. */
  readonly guard: RequestHandler;
  readonly countRequests: RequestHandler;
  /** Largest file accepted, bytes; larger → 413 BODY_TOO_LARGE. */
  readonly maxFileBytes: number;
  /** Directory an upload is spooled to while it arrives; removed once answered. */
  readonly spoolDir: string;
  readonly logger: Logger;
}

/**
 * One read of a channel file from its chunks: its items in file order (only while the file is sound so far), then
 * the verdict. `sha256` is the file's (a CSV file without `Vigil-File-Id` is known by it).
 */
export type ChannelFileRead = (
  chunks: AsyncIterable<Uint8Array>,
  sha256: string,
  /** The first read, for the verdict alone: no item need be mapped (and none is yielded). */
  verdictOnly?: boolean,
) => AsyncGenerator<ChannelItem, ChannelFileVerdict, undefined>;

/** Chunks of a spooled file are read this large: the reading side's share of the memory bound. */
const SPOOL_CHUNK_BYTES = 64 * 1024;

/**
 * Mounts one channel route: `POST <path>` takes the raw file (any content type: the route, not the header, says what
 * the file is) and `open` gives the read for this request (its options from headers or query; throws a
 * ValidationError for bad ones). The file is taken in three steps, each holding a bounded part of it in memory:
 *
 * 1. the body is spooled to a file under `spoolDir` as it arrives, hashed (SHA-256) on the way, refused with 413
 *    past `maxFileBytes`; a transfer cut short takes nothing;
 * 2. the spooled file is read through once to check it: a file that cannot be read as a whole (not well-formed, a
 *    NACHA control that does not add up) is 400 CHANNEL_FILE_REFUSED with the problems' locations, nothing taken;
 * 3. it is read again and its items handed to the intake a slice at a time, the results streamed out as each slice
 *    is durable: 200 with a ChannelFileResponse, each item accepted, duplicate, rejected or conflict on its own, in
 *    the batch shape; 409 CHANNEL_FILE_CONFLICT (before any item) for a message id received before with other bytes.
 *
 * A failure after the 200 has started (the log unavailable mid-file) ends the response without its `summary`
 * (the connection is cut): the file's receipt is unwritten, so sending it again takes the rest and answers what
 * was accepted as `duplicate`.
 */
export function mountChannelRoute(
  router: Router,
  path: string,
  open: (req: Request) => ChannelFileRead,
  options: ChannelRouteOptions,
): void {
  router.post(
    path,
    options.countRequests,
    options.guard,
    route(async (req, res) => {
      const read = open(req);
      const spool = await spoolBody(req, options.spoolDir, options.maxFileBytes);
      try {
        const { chunks } = spool;
        const verdict = await readThrough(read(chunks(), spool.sha256, true));
        if (!verdict.ok)
          throw new ValidationError('the file could not be read', verdict.problems, 'CHANNEL_FILE_REFUSED');
        const sink = new JsonResultStream(res);
        try {
          const summary = await options.intake.receiveStream(
            { format: verdict.format, messageId: verdict.messageId, items: itemsOf(read(chunks(), spool.sha256)) },
            spool.sha256,
            principalOf(res).id,
            'FILE',
            sink,
          );
          // The copy goes before the answer ends: a client that has the summary finds nothing of its file left.
          await rm(spool.folder, { recursive: true, force: true });
          await sink.finish(summary);
        } catch (error) {
          if (!res.headersSent) throw error;
          options.logger.warn('channel file answer cut short', {
            path,
            error: error instanceof Error ? error.message : String(error),
          });
          res.destroy();
        }
      } finally {
        await rm(spool.folder, { recursive: true, force: true });
      }
    }),
  );
}

/** A ChannelFileRead over a record-by-record domain reader (NACHA, ISO 20022). */
export function readerRead(reader: (verdictOnly: boolean) => ChannelFileReader): ChannelFileRead {
  return async function* (chunks, _sha256, verdictOnly = false) {
    const file = reader(verdictOnly);
    for await (const chunk of chunks) yield* file.push(chunk);
    const { items, verdict } = file.end();
    yield* items;
    return verdict;
  };
}

/**
 * A ChannelFileRead of a CSV upload: UTF-8 decoded as it streams (a bad sequence refuses the file), split into
 * records by csv-parse's stream parser, each record mapped by the file's CsvLayout as it comes.
 */
export function csvRead(options: CsvOptions): ChannelFileRead {
  return async function* (chunks, sha256, verdictOnly = false) {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let notUtf8 = false;
    const text = async function* (): AsyncGenerator<string> {
      try {
        for await (const chunk of chunks) yield decoder.decode(chunk, { stream: true });
        yield decoder.decode();
      } catch (error) {
        notUtf8 = true;
        throw error;
      }
    };
    const records = pipeline(Readable.from(text()), csvParser(csvParseOptions), () => {}) as AsyncIterable<CsvRecord>;
    let layout: CsvLayout | undefined;
    try {
      for await (const record of records) {
        if (layout !== undefined) {
          if (!verdictOnly) yield layout.item(record);
          continue;
        }
        const read = CsvLayout.of(record, options, sha256);
        if (!read.ok) return read;
        layout = read.layout;
      }
    } catch (error) {
      return {
        ok: false,
        problems: [notUtf8 ? csvRefusal.notUtf8 : csvRefusal.notCsv((error as { lines?: unknown }).lines)],
      };
    }
    if (layout === undefined) return { ok: false, problems: [csvRefusal.noHeader] };
    return { ok: true, format: 'csv', messageId: layout.fileId };
  };
}

export interface Spooled {
  readonly folder: string;
  readonly path: string;
  readonly sha256: string;
  /** The spool's plaintext, read from the start in chunks of `SPOOL_CHUNK_BYTES`. */
  readonly chunks: () => AsyncIterable<Uint8Array>;
}

/**
 * The spool is encrypted (AES-256-CTR) under a key that exists only in this process's memory for this request: a
 * channel file may carry card numbers, and none may be written anywhere in clear (PCI DSS 3.4/3.5) — not even to a
 * temporary file that a crash would leave behind. Confidentiality only: the file never leaves this process, which
 * reads back what it wrote.
 */
const SPOOL_CIPHER = 'aes-256-ctr';

/**
 * Writes the request body, encrypted, to a new file under `dir` as it arrives, hashing the plaintext on the way; 413
 * past `maxBytes`.
 */
export async function spoolBody(req: Request, dir: string, maxBytes: number): Promise<Spooled> {
  const tooLarge = (): VigilError =>
    new VigilError('BODY_TOO_LARGE', `a channel file may be at most ${maxBytes} bytes`, {
      category: ErrorCategory.tooLarge,
    });
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const folder = await mkdtemp(join(dir, 'vigil-channel-'));
  const path = join(folder, 'file');
  const hash = createHash('sha256');
  const key = randomBytes(32);
  const iv = randomBytes(16);
  let bytes = 0;
  try {
    await pipelineAsync(
      req,
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          if (bytes > maxBytes) {
            done(tooLarge());
            return;
          }
          hash.update(chunk);
          done(null, chunk);
        },
      }),
      createCipheriv(SPOOL_CIPHER, key, iv),
      createWriteStream(path),
    );
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw error;
  }
  const chunks = (): AsyncIterable<Uint8Array> => {
    const plaintext = createDecipheriv(SPOOL_CIPHER, key, iv);
    pipeline(createReadStream(path, { highWaterMark: SPOOL_CHUNK_BYTES }), plaintext, (error) => {
      if (error) plaintext.destroy(error);
    });
    return plaintext;
  };
  return { folder, path, sha256: hash.digest('hex'), chunks };
}

/** Reads a file through for its verdict alone, dropping its items. */
async function readThrough(
  read: AsyncGenerator<ChannelItem, ChannelFileVerdict, undefined>,
): Promise<ChannelFileVerdict> {
  for (;;) {
    const next = await read.next();
    if (next.done) return next.value;
  }
}

/** The items of the ingesting read; the file was checked sound, so a refusal now means the spool changed. */
async function* itemsOf(read: AsyncGenerator<ChannelItem, ChannelFileVerdict, undefined>): AsyncGenerator<ChannelItem> {
  for (;;) {
    const next = await read.next();
    if (!next.done) {
      yield next.value;
      continue;
    }
    if (!next.value.ok) throw new VigilError('INTERNAL', 'a checked channel file read differently the second time');
    return;
  }
}

/**
 * A ChannelFileResponse written as it is made: the file, then each slice's results, then the summary — the
 * response's shape, never all of it in memory. Waits for the client to drain each slice (a slow reader slows the
 * intake instead of filling memory) and gives up when the client goes away.
 */
class JsonResultStream implements ChannelResultSink {
  private first = true;

  constructor(private readonly res: Response) {}

  start(file: { format: string; messageId: string; sha256: string; status: 'new' | 'duplicate' }): Promise<void> {
    this.res.status(200).type('application/json');
    return this.write(`{"file":${JSON.stringify(file)},"results":[`);
  }

  results(results: readonly ChannelItemResult[]): Promise<void> {
    let text = '';
    for (const result of results) {
      text += (this.first ? '' : ',') + JSON.stringify(result);
      this.first = false;
    }
    return this.write(text);
  }

  async finish(summary: Readonly<Record<string, number>>): Promise<void> {
    await this.write(`],"summary":${JSON.stringify(summary)}}`);
    this.res.end();
  }

  private write(text: string): Promise<void> {
    const res = this.res;
    if (res.destroyed) return Promise.reject(new Error('the client went away'));
    if (res.write(text)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (error?: Error): void => {
        res.off('drain', onDrain);
        res.off('close', onClose);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onDrain = (): void => done();
      const onClose = (): void => done(new Error('the client went away'));
      res.on('drain', onDrain);
      res.on('close', onClose);
    });
  }
}
