import type { OutgoingRecord } from '../bus.js';
import { crc32c } from './crc32c.js';
import { checkFrame, decodeFrame, frameSize, sealFrame, writeUnsealedFrame } from './frame.js';

/** Bit-at-a-time CRC-32C straight from the definition, to check the table-driven one against. */
function referenceCrc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function sealed(record: OutgoingRecord, offset: number, timestampMs = 1_000): Buffer {
  const buf = Buffer.alloc(frameSize(record));
  expect(writeUnsealedFrame(buf, 0, record, timestampMs)).toBe(buf.length);
  expect(sealFrame(buf, 0, offset)).toBe(buf.length);
  return buf;
}

describe('crc32c', () => {
  it('matches the published check values', () => {
    // RFC 3720 appendix B.4 / the CRC catalogue's "check" value for CRC-32C.
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
  });

  it('agrees with the bitwise definition on every length and alignment', () => {
    const data = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff));
    for (let start = 0; start < 4; start++) {
      for (let end = start; end <= data.length; end += 13) {
        expect(crc32c(data, start, end)).toBe(referenceCrc32c(data.subarray(start, end)));
      }
    }
  });
});

describe('record frame', () => {
  it('round-trips null and non-null keys, empty values, headers and large offsets/timestamps', () => {
    const cases: Array<[OutgoingRecord, number, number]> = [
      [{ key: null, value: Buffer.alloc(0) }, 0, 0],
      [{ key: '', value: Buffer.from('v'), headers: { a: '', ü: 'ß' } }, 2 ** 40 + 3, 1_700_000_000_000],
      [{ key: 'k', value: Buffer.from([1, 2, 3]) }, Number.MAX_SAFE_INTEGER, -5],
    ];
    for (const [record, offset, timestampMs] of cases) {
      const buf = sealed(record, offset, timestampMs);
      expect(checkFrame(buf, 0, buf.length, 1 << 20)).toBe(buf.length);
      expect(decodeFrame(buf, 0, 't', 3)).toEqual({
        topic: 't',
        partition: 3,
        offset,
        key: record.key,
        value: record.value,
        headers: record.headers ?? {},
        timestampMs,
      });
    }
  });

  it('detects any flipped byte, a torn frame and an absurd length', () => {
    const buf = sealed({ key: 'card-1', value: Buffer.from('amount=100') }, 42);
    for (let i = 4; i < buf.length; i++) {
      const damaged = Buffer.from(buf);
      damaged[i]! ^= 0x01;
      expect(checkFrame(damaged, 0, damaged.length, 1 << 20)).toMatch(/^bad-(checksum|magic)$/);
    }
    expect(checkFrame(buf, 0, buf.length - 1, 1 << 20)).toBe('incomplete');
    expect(checkFrame(buf, 0, 3, 1 << 20)).toBe('incomplete');
    const huge = Buffer.from(buf);
    huge.writeUInt32BE(0x7fffffff, 0);
    expect(checkFrame(huge, 0, huge.length, 1 << 20)).toBe('bad-length');
  });
});
