import type { Decision } from '../../schemas/generated/types.js';
import { type Candidate, type StoredFingerprints, decideBatch } from './idempotency.js';

const nothingStored: StoredFingerprints = {
  ledger: new Map(),
  decisions: new Map(),
  decidedAs: new Map(),
  held: new Set(),
  labelled: new Set(),
  unposted: new Set(),
};
const stored = (
  ledger: Record<string, string>,
  decisions: Record<string, string>,
  decidedAs: Record<string, Decision> = {},
): StoredFingerprints => ({
  ledger: new Map(Object.entries(ledger)),
  decisions: new Map(Object.entries(decisions)),
  decidedAs: new Map(Object.keys(decisions).map((id) => [id, decidedAs[id] ?? 'APPROVE'] as const)),
  held: new Set(),
  labelled: new Set(),
  unposted: new Set(),
});
const c = (transactionId: string, fingerprint: string, posts = true, decision?: Decision): Candidate => ({
  transactionId,
  fingerprint,
  decision: decision ?? (posts ? 'APPROVE' : 'DECLINE'),
  kind: 'PURCHASE',
});

describe('decideBatch', () => {
  it('given nothing stored, when a batch of distinct ids arrives, then each is new and writes both tables', () => {
    expect(decideBatch([c('a', 'fa'), c('b', 'fb')], nothingStored)).toEqual([
      { kind: 'new', booking: 'post', writeEntries: true, writeDecision: true },
      { kind: 'new', booking: 'post', writeEntries: true, writeDecision: true },
    ]);
  });

  it('given a declined transaction, when it is new, then only its decision is written', () => {
    expect(decideBatch([c('d', 'fd', false)], nothingStored)).toEqual([
      { kind: 'new', booking: 'none', writeEntries: false, writeDecision: true },
    ]);
  });

  it('given both tables hold the id with the same fingerprint, when it is redelivered, then nothing is written', () => {
    expect(decideBatch([c('a', 'fa')], stored({ a: 'fa' }, { a: 'fa' }))).toEqual([
      { kind: 'duplicate', booking: 'post', writeEntries: false, writeDecision: false, decisionChanged: false },
    ]);
  });

  it('given a crash after the ledger insert, when the batch is redelivered, then only the missing decision is written', () => {
    expect(decideBatch([c('a', 'fa')], stored({ a: 'fa' }, {}))).toEqual([
      { kind: 'duplicate', booking: 'post', writeEntries: false, writeDecision: true, decisionChanged: false },
    ]);
  });

  it('given the same id twice in one batch with the same fingerprint, then the second is a duplicate writing nothing', () => {
    expect(decideBatch([c('a', 'fa'), c('a', 'fa')], nothingStored)).toEqual([
      { kind: 'new', booking: 'post', writeEntries: true, writeDecision: true },
      { kind: 'duplicate', booking: 'post', writeEntries: false, writeDecision: false, decisionChanged: false },
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
      { kind: 'new', booking: 'post', writeEntries: true, writeDecision: true },
      { kind: 'conflict', acceptedFingerprint: 'f1' },
      { kind: 'duplicate', booking: 'post', writeEntries: false, writeDecision: false, decisionChanged: false },
    ]);
  });

  it('given a conflicting record first in the batch, then it does not become the accepted content', () => {
    expect(decideBatch([c('a', 'bad'), c('a', 'fa')], stored({ a: 'fa' }, { a: 'fa' }))).toEqual([
      { kind: 'conflict', acceptedFingerprint: 'fa' },
      { kind: 'duplicate', booking: 'post', writeEntries: false, writeDecision: false, decisionChanged: false },
    ]);
  });

  it('given a stored decision, when a copy with the same content carries another outcome, then the stored one governs', () => {
    // Stored as REVIEW (held): an APPROVE copy must not book, and a DECLINE copy must not drop the hold.
    const held = stored({}, { r: 'fr' }, { r: 'REVIEW' });
    expect(decideBatch([c('r', 'fr', true, 'APPROVE'), c('r', 'fr', false, 'DECLINE')], held)).toEqual([
      { kind: 'duplicate', booking: 'hold', writeEntries: false, writeDecision: false, decisionChanged: true },
      { kind: 'duplicate', booking: 'hold', writeEntries: false, writeDecision: false, decisionChanged: true },
    ]);
    // Stored as APPROVE with its entries lost: a REVIEW copy repairs the entries instead of placing a hold.
    expect(decideBatch([c('a', 'fa', true, 'REVIEW')], stored({}, { a: 'fa' }, { a: 'APPROVE' }))).toEqual([
      { kind: 'duplicate', booking: 'post', writeEntries: true, writeDecision: false, decisionChanged: true },
    ]);
    // Within one batch the first copy is the accepted one.
    expect(decideBatch([c('x', 'fx', false, 'DECLINE'), c('x', 'fx', true, 'APPROVE')], nothingStored)).toEqual([
      { kind: 'new', booking: 'none', writeEntries: false, writeDecision: true },
      { kind: 'duplicate', booking: 'none', writeEntries: false, writeDecision: false, decisionChanged: true },
    ]);
  });
});
