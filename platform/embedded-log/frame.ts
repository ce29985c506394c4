/**
 * The on-disk record frame. Every record is one self-checking frame, big-endian:
 *
 *   0  u32  bodyLength       bytes after this field
 *   4  u32  crc32c           CRC-32C of bytes [8, 4 + bodyLength)
 *   8  u8   magic            FRAME_MAGIC
 *   9  u8   attributes       reserved, 0
 *  10  i64  offset
 *  18  i64  timestampMs
 *  26  i32  keyLength        -1 for a null key
 *      ...  key (UTF-8)
 *      i32  valueLength
 *      ...  value
 *      u32  headerCount
 *      per header: u32 nameLength, name (UTF-8), u32 valueLength, value (UTF-8)
 *
 * The CRC covers the offset, so a frame copied to the wrong place is caught too. A frame is written with a
 * zero offset and CRC when a producer sends it and sealed (offset + CRC patched in) when the group commit
 * that writes it assigns offsets — see PartitionLog.
 */
import type { BusRecord, Headers, OutgoingRecord } from '../bus.js';
import { crc32c } from './crc32c.js';

export const FRAME_MAGIC = 1;
const LENGTH_BYTES = 4;
const CRC_START = 8;
const OFFSET_AT = 10;
const TIMESTAMP_AT = 18;
const KEY_LENGTH_AT = 26;
/** Fixed bytes of a frame: up to the key, plus value length and header count. */
export const FRAME_FIXED_BYTES = KEY_LENGTH_AT + 4 + 4 + 4;
const TWO_TO_32 = 0x1_0000_0000;

const noHeaders: Headers = Object.freeze({});

/** Why bytes at a position are not a valid frame. */
export type FrameProblem = 'incomplete' | 'bad-length' | 'bad-magic' | 'bad-checksum';

/** Bytes the frame of `record` occupies. */
export function frameSize(record: OutgoingRecord): number {
  let size = FRAME_FIXED_BYTES + record.value.length;
  if (record.key !== null) size += Buffer.byteLength(record.key, 'utf8');
  if (record.headers !== undefined) {
    for (const name in record.headers) {
      size += 8 + Buffer.byteLength(name, 'utf8') + Buffer.byteLength(record.headers[name]!, 'utf8');
    }
  }
  return size;
}

/** Writes the frame of `record` at `pos` with offset and CRC left zero; returns the position after it. */
export function writeUnsealedFrame(buf: Buffer, pos: number, record: OutgoingRecord, timestampMs: number): number {
  const start = pos;
  buf[pos + 8] = FRAME_MAGIC;
  buf[pos + 9] = 0;
  writeInt64(buf, pos + TIMESTAMP_AT, timestampMs);
  pos += KEY_LENGTH_AT;
  pos = writeString(buf, pos, record.key);
  buf.writeInt32BE(record.value.length, pos);
  pos += 4;
  pos += record.value.copy(buf, pos);
  const headerCountAt = pos;
  pos += 4;
  let headerCount = 0;
  if (record.headers !== undefined) {
    for (const name in record.headers) {
      pos = writeString(buf, pos, name);
      pos = writeString(buf, pos, record.headers[name]!);
      headerCount++;
    }
  }
  buf.writeUInt32BE(headerCount, headerCountAt);
  buf.writeUInt32BE(pos - start - LENGTH_BYTES, start);
  return pos;
}

/** Patches `offset` and the CRC into the unsealed frame at `pos`; returns the position after the frame. */
export function sealFrame(buf: Buffer, pos: number, offset: number): number {
  const end = pos + LENGTH_BYTES + buf.readUInt32BE(pos);
  writeInt64(buf, pos + OFFSET_AT, offset);
  buf.writeUInt32BE(crc32c(buf, pos + CRC_START, end), pos + LENGTH_BYTES);
  return end;
}

/**
 * Checks the frame at `pos` in `buf[.., end)`: returns its total size in bytes, or the problem.
 * `maxFrameBytes` bounds the length field so garbage is not mistaken for a huge frame.
 */
export function checkFrame(buf: Buffer, pos: number, end: number, maxFrameBytes: number): number | FrameProblem {
  if (end - pos < LENGTH_BYTES) return 'incomplete';
  const size = LENGTH_BYTES + buf.readUInt32BE(pos);
  if (size < FRAME_FIXED_BYTES || size > maxFrameBytes) return 'bad-length';
  if (end - pos < size) return 'incomplete';
  if (buf[pos + 8] !== FRAME_MAGIC) return 'bad-magic';
  if (buf.readUInt32BE(pos + LENGTH_BYTES) !== crc32c(buf, pos + CRC_START, pos + size)) return 'bad-checksum';
  return size;
}

/** Total size of the frame at `pos` from its length field alone (no verification). */
export function frameSizeAt(buf: Buffer, pos: number): number {
  return LENGTH_BYTES + buf.readUInt32BE(pos);
}

/** The offset stored in the frame at `pos`. */
export function frameOffsetAt(buf: Buffer, pos: number): number {
  return readInt64(buf, pos + OFFSET_AT);
}

/** The timestamp stored in the frame at `pos` (ms since the epoch). */
export function frameTimestampAt(buf: Buffer, pos: number): number {
  return readInt64(buf, pos + TIMESTAMP_AT);
}

/**
 * Decodes a frame already verified by `checkFrame` (or sealed in this process). The value is a view into
 * `buf`, not a copy — callers hand out `buf`s that nobody writes to afterwards.
 */
export function decodeFrame(buf: Buffer, pos: number, topic: string, partition: number): BusRecord {
  const offset = readInt64(buf, pos + OFFSET_AT);
  const timestampMs = readInt64(buf, pos + TIMESTAMP_AT);
  let at = pos + KEY_LENGTH_AT;
  const keyLength = buf.readInt32BE(at);
  at += 4;
  let key: string | null = null;
  if (keyLength >= 0) {
    key = buf.toString('utf8', at, at + keyLength);
    at += keyLength;
  }
  const valueLength = buf.readInt32BE(at);
  at += 4;
  const value = buf.subarray(at, at + valueLength);
  at += valueLength;
  const headerCount = buf.readUInt32BE(at);
  at += 4;
  let headers = noHeaders;
  if (headerCount > 0) {
    const decoded: Record<string, string> = {};
    for (let i = 0; i < headerCount; i++) {
      const nameLength = buf.readUInt32BE(at);
      const name = buf.toString('utf8', at + 4, at + 4 + nameLength);
      at += 4 + nameLength;
      const valueLength = buf.readUInt32BE(at);
      decoded[name] = buf.toString('utf8', at + 4, at + 4 + valueLength);
      at += 4 + valueLength;
    }
    headers = Object.freeze(decoded);
  }
  return { topic, partition, offset, key, value, headers, timestampMs };
}

function writeString(buf: Buffer, pos: number, text: string | null): number {
  if (text === null) {
    buf.writeInt32BE(-1, pos);
    return pos + 4;
  }
  const length = buf.write(text, pos + 4, 'utf8');
  buf.writeInt32BE(length, pos);
  return pos + 4 + length;
}

/** Safe integers as two's-complement int64 (high word signed, low word unsigned). */
function writeInt64(buf: Buffer, pos: number, value: number): void {
  const high = Math.floor(value / TWO_TO_32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * TWO_TO_32, pos + 4);
}

function readInt64(buf: Buffer, pos: number): number {
  return buf.readInt32BE(pos) * TWO_TO_32 + buf.readUInt32BE(pos + 4);
}
