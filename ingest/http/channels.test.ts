import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Request } from 'express';
import { sha256Hasher } from '../adapters/crypto.js';
import type { ChannelItem } from '../domain/channels/channel.js';
import { parseCsv } from '../domain/channels/csv/csv.js';
import { transfersCsv } from '../testing/csv.js';
import { type ChannelFileRead, csvRead, spoolBody } from './channels.js';

/** Runs a read over `bytes` cut into chunks of `size`; the items and the verdict. */
async function run(read: ChannelFileRead, bytes: Buffer, size: number) {
  const chunks = async function* (): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < bytes.length; at += size) yield await Promise.resolve(bytes.subarray(at, at + size));
  };
  const reading = read(chunks(), sha256Hasher.sha256Hex(bytes.toString('utf8')));
  const items: ChannelItem[] = [];
  for (;;) {
    const next = await reading.next();
    if (next.done) return { items, verdict: next.value };
    items.push(next.value);
  }
}

describe('csvRead: a CSV upload read as it streams', () => {
  const options = { hasher: sha256Hasher, fileId: 'upload-1' };
  // A remittance with two- and three-byte characters, so chunks also break inside a character.
  const text = transfersCsv('2026-11-24T08:30:00Z').replace('Invoice 1', 'Rechnung Müller — 東京');
  const bytes = Buffer.from(text, 'utf8');

  it('gives the items a whole read gives, in chunks of any size', async () => {
    const whole = parseCsv(bytes, options);
    if (!whole.ok) throw new Error('the fixture was refused');
    for (const size of [1, 2, 3, 7, 64, bytes.length]) {
      const streamed = await run(csvRead(options), bytes, size);
      expect(streamed.verdict).toEqual({ ok: true, format: 'csv', messageId: 'upload-1' });
      expect(streamed.items).toEqual(whole.document.items);
    }
  });

  it('refuses bytes that are not UTF-8, and broken quoting at its line, as the whole read does', async () => {
    const notUtf8 = Buffer.concat([bytes, Buffer.from([0xff, 0x0a])]);
    expect((await run(csvRead(options), notUtf8, 16)).verdict).toEqual(parseCsv(notUtf8, options));
    const broken = Buffer.from(`${text}"open,quote\n`, 'utf8');
    expect((await run(csvRead(options), broken, 16)).verdict).toEqual(parseCsv(broken, options));
    // Negative control: the comparison tells a refusal from a read file.
    expect((await run(csvRead(options), bytes, 16)).verdict).not.toEqual(parseCsv(broken, options));
  });
});

describe('spoolBody: an upload on disk while it is read', () => {
  const pan = '4111111111111111';
  const body = Buffer.from(`id,card,amount\n${'x'.repeat(70_000)},${pan},12.34\ntx-2,${pan},5.00\n`, 'utf8');
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'vigil-spool-test-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes no byte of the file in clear, and reads it back whole, hashed as sent', async () => {
    const request = Object.assign(Readable.from([body.subarray(0, 1000), body.subarray(1000)]), { headers: {} });
    const spool = await spoolBody(request as unknown as Request, dir, 1 << 20);
    const onDisk = readFileSync(spool.path);
    expect([onDisk.length, onDisk.includes(pan), onDisk.includes('amount')]).toEqual([body.length, false, false]);
    const read: Buffer[] = [];
    for await (const chunk of spool.chunks()) read.push(Buffer.from(chunk));
    expect(Buffer.concat(read).equals(body)).toBe(true);
    expect(spool.sha256).toBe(createHash('sha256').update(body).digest('hex'));
  });
});
