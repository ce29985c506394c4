import { type Candidate, type StoredFingerprints, decideBatch } from './idempotency.js';

const nothingStored: StoredFingerprints = { ledger: new Map(), decisions: new Map() };
const stored = (ledger: Record<string, string>, decisions: Record<string, string>): StoredFingerprints => ({
  ledger: new Map(Object.entries(ledger)),
  decisions: new Map(Object.entries(decisions)),
});
const c = (transactionId: string, fingerprint: string, posts = true): Candidate => ({
  transactionId,
  fingerprint,
  posts,
});

describe('decideBatch', () => {
  it('given nothing stored, when a batch of distinct ids arrives, then each is new and writes both tables', () => {
    expect(decideBatch([c('a', 'fa'), c('b', 'fb')], nothingStored)).toEqual([
      { kind: 'new', writeEntries: true, writeDecision: true },
      { kind: 'new', writeEntries: true, writeDecision: true },
    ]);
  });

  it('given a declined transaction, when it is new, then only its decision is written', () => {
    expect(decideBatch([c('d', 'fd', false)], nothingStored)).toEqual([
      { kind: 'new', writeEntries: false, writeDecision: true },
    ]);
  });

  it('given both tables hold the id with the same fingerprint, when it is redelivered, then nothing is written', () => {
    expect(decideBatch([c('a', 'fa')], stored({ a: 'fa' }, { a: 'fa' }))).toEqual([
      { kind: 'duplicate', writeEntries: false, writeDecision: false },
    ]);
  });

  it('given a crash after the ledger insert, when the batch is redelivered, then only the missing decision is written', () => {
    expect(decideBatch([c('a', 'fa')], stored({ a: 'fa' }, {}))).toEqual([
      { kind: 'duplicate', writeEntries: false, writeDecision: true },
    ]);
  });

  it('given the same id twice in one batch with the same fingerprint, then the second is a duplicate writing nothing', () => {
    expect(decideBatch([c('a', 'fa'), c('a', 'fa')], nothingStored)).toEqual([
      { kind: 'new', writeEntries: true, writeDecision: true },
      { kind: 'duplicate', writeEntries: false, writeDecision: false },
    ]);
  });

  it('given a stored id, when it arrives with another fingerprint, then it is a conflict naming the accepted fingerprint', () => {
    expect(decideBatch([c('a', 'other')], stored({ a: 'fa' }, { a: 'fa' }))).toEqual([
      { kind: 'conflict', acceptedFingerprint: 'fa' },
    ]);
  });

  it('given a declined id (decision only), when it arrives approved with other content, then it is a conflict', () => {
    expect(decideBatch([c('d', 'other')], stored({}, { d: 'fd' }))).toEqual([
      { kind: 'conflict', acceptedFingerprint: 'fd' },
    ]);
  });

  it('given the same id twice in one batch with different fingerprints, then the first is accepted and the second conflicts', () => {
    expect(decideBatch([c('a', 'f1'), c('a', 'f2'), c('a', 'f1')], nothingStored)).toEqual([
      { kind: 'new', writeEntries: true, writeDecision: true },
      { kind: 'conflict', acceptedFingerprint: 'f1' },
      { kind: 'duplicate', writeEntries: false, writeDecision: false },
    ]);
  });

  it('given a conflicting record first in the batch, then it does not become the accepted content', () => {
    expect(decideBatch([c('a', 'bad'), c('a', 'fa')], stored({ a: 'fa' }, { a: 'fa' }))).toEqual([
      { kind: 'conflict', acceptedFingerprint: 'fa' },
      { kind: 'duplicate', writeEntries: false, writeDecision: false },
    ]);
  });
});
