import { createHash } from 'node:crypto';
import type { AuditTrail, LedgerIntegrity } from '../schemas/api.js';
import type { DeadLetter } from '../schemas/generated/types.js';
import {
  type ObservedDeadLetter,
  type PlantedPoison,
  deadLetterViolations,
  ledgerInvariantViolations,
  webhookDeliveryViolations,
} from './testing.js';

/** The e2e invariant checks on plain data: a sound run passes, and each planted fault is reported. */

const money = (amountMinor: bigint, currency = 'EUR'): AuditTrail['ledgerEntries'][number]['amount'] => ({
  amount: '',
  amountMinor: amountMinor.toString(),
  currency,
});

type HoldStatus = NonNullable<AuditTrail['hold']>['status'];

function legs(id: string, amountMinor: bigint): AuditTrail['ledgerEntries'] {
  return [
    { leg: 0, accountId: 'acc-1', amount: money(-amountMinor) },
    { leg: 1, accountId: 'acc-2', amount: money(amountMinor) },
  ].map((l) => ({
    ...l,
    entryId: `${id}/${l.leg}`,
    entryType: 'PRINCIPAL',
    eventTime: '',
    postedAt: '',
    reversesEntryId: null,
  }));
}

/** The trail of a transaction as the API serves it; a REVIEW's hold in `holdStatus` (booked only when POSTED). */
function trail(
  id: string,
  outcome: AuditTrail['decision']['outcome'],
  holdStatus: HoldStatus = 'OPEN',
  amountMinor = 500n,
): AuditTrail {
  const booked = outcome === 'APPROVE' || (outcome === 'REVIEW' && holdStatus === 'POSTED');
  return {
    transactionId: id,
    fingerprint: `fp-${id}`,
    transaction: {
      channel: 'CARD',
      kind: 'PURCHASE',
      source: 'API',
      submittedBy: 'ingest:0a1b2c3d',
      amount: money(amountMinor),
      payerAccountId: 'acc-1',
      payeeAccountId: 'acc-2',
      customerId: null,
      card: null,
      merchantId: null,
      terminalId: null,
      mcc: null,
      deviceId: null,
      country: null,
      description: null,
      sourceDocument: null,
    },
    decision: {
      outcome,
      score: 0.5,
      combinedRisk: 0.5,
      reasons: [],
      reasonCodes: [],
      rulesFired: [],
      modelVersion: 'm',
      rulesVersion: 'r',
      unpostedReason: null,
    },
    features: {},
    reportingCurrency: 'EUR',
    unconvertedCurrency: null,
    input: {},
    timeline: {
      eventTime: '',
      receivedAt: '',
      scoredAt: '',
      storedAt: '',
      receivedToScoredMs: 0,
      scoredToStoredMs: 0,
    },
    decisionRecords: 1,
    ledgerEntries: booked ? legs(id, amountMinor) : [],
    hold:
      outcome === 'REVIEW'
        ? {
            kind: 'REVIEW',
            status: holdStatus,
            placedAt: '',
            expiresAt: '',
            resolution:
              holdStatus === 'OPEN'
                ? null
                : { cause: holdStatus === 'POSTED' ? 'GENUINE' : 'FRAUD', resolvedBy: 'ana', resolvedAt: '' },
            legs: [],
            resolutionRecords: holdStatus === 'OPEN' ? 0 : 1,
          }
        : null,
    labels: [],
    conflicts: [],
  };
}

/**
 * A sound run of 10 transactions: 5 approved (booked), 3 reviewed (one hold posted, one voided, one open), 2
 * declined. 6 transactions booked with 2 legs each.
 */
const integrity: LedgerIntegrity = {
  decisionRows: 10,
  distinctDecisions: 10,
  postedTransactions: 6,
  entries: 12,
  duplicateEntries: 0,
  unbalancedTransactions: 0,
  declinedWithEntries: 0,
  postableDecisions: 5,
  unpostableDecisions: 0,
  decisionsWithoutEntries: 0,
  entriesWithoutDecisions: 0,
  conflicts: 0,
  heldDecisions: 3,
  reviewsWithoutHolds: 0,
  openHolds: 1,
  postedHolds: 1,
  voidedHolds: 1,
  expiredHolds: 0,
  holdsResolvedTwice: 0,
  entriesOfUnpostedHolds: 0,
  reversedTransactions: 0,
  entriesReversedTwice: 0,
  reversalsWithoutOriginal: 0,
  authorizationHolds: { open: 0, captured: 0, voided: 0 },
  overCapturedAuthorizations: 0,
  capturesWithoutAuthorization: 0,
  refundsWithoutOriginal: 0,
  refundsBeyondOriginal: 0,
  totalsByCurrency: [{ currency: 'EUR', sumMinor: '0' }],
};
const declined = new Set(['tx-d1', 'tx-d2']);
const reviewed = new Set(['tx-r1', 'tx-r2', 'tx-r3']);
const trails = [
  trail('tx-a', 'APPROVE'),
  trail('tx-r1', 'REVIEW', 'POSTED'),
  trail('tx-r2', 'REVIEW', 'OPEN'),
  trail('tx-d1', 'DECLINE'),
  trail('tx-d2', 'DECLINE'),
];
const expected = { transactions: 10, declined, reviewed };

describe('ledgerInvariantViolations', () => {
  it('given a sound run, then it reports nothing', () => {
    expect(ledgerInvariantViolations(integrity, trails, expected)).toEqual([]);
  });

  it('given a posting missing from the ledger, then the counters report it', () => {
    const lost = { ...integrity, postedTransactions: 5, decisionsWithoutEntries: 1 };
    expect(ledgerInvariantViolations(lost, trails, expected)).toEqual([
      'integrity.postedTransactions is 5, expected 6',
      'integrity.decisionsWithoutEntries is 1, expected 0',
    ]);
  });

  it('given card-flow business exceptions (over-capture, captures and refunds without original), then they are no violation', () => {
    const exceptions = {
      ...integrity,
      overCapturedAuthorizations: 1,
      capturesWithoutAuthorization: 2,
      refundsWithoutOriginal: 3,
      refundsBeyondOriginal: 4,
    };
    expect(ledgerInvariantViolations(exceptions, trails, expected)).toEqual([]);
  });

  it('given an approved trail without entries, then it is reported', () => {
    const unposted = { ...trail('tx-a', 'APPROVE'), ledgerEntries: [] };
    expect(ledgerInvariantViolations(integrity, [unposted, ...trails.slice(1)], expected)).toEqual([
      'tx-a: APPROVE but posted nothing',
    ]);
  });

  it('given a review booked under an open hold, one without a hold and one resolved twice, then each is reported', () => {
    const bookedOpen = { ...trail('tx-r2', 'REVIEW', 'OPEN'), ledgerEntries: legs('tx-r2', 500n) };
    const noHold = { ...trail('tx-r1', 'REVIEW', 'POSTED'), hold: null };
    const twice = trail('tx-r3', 'REVIEW', 'VOIDED');
    const resolvedTwice = { ...twice, hold: { ...twice.hold!, resolutionRecords: 2 } };
    expect(
      ledgerInvariantViolations(
        { ...integrity, entriesOfUnpostedHolds: 1, holdsResolvedTwice: 1 },
        [trails[0]!, noHold, bookedOpen, resolvedTwice, ...trails.slice(3)],
        expected,
      ),
    ).toEqual([
      'integrity.holdsResolvedTwice is 1, expected 0',
      'integrity.entriesOfUnpostedHolds is 1, expected 0',
      'tx-r1: REVIEW without a hold',
      'tx-r2: hold OPEN but 2 entries booked',
      'tx-r3: hold VOIDED with 2 resolutions',
    ]);
  });

  it('given a hold lost or doubled, then the hold count reports it', () => {
    expect(ledgerInvariantViolations({ ...integrity, openHolds: 0, reviewsWithoutHolds: 1 }, trails, expected)).toEqual(
      ['integrity.reviewsWithoutHolds is 1, expected 0', 'integrity: 2 holds open, posted or voided, expected 3'],
    );
  });

  it('given an entry stored twice, then the trail check and the counter report it', () => {
    const approved = trail('tx-a', 'APPROVE');
    const doubled = { ...approved, ledgerEntries: [...approved.ledgerEntries, approved.ledgerEntries[1]!] };
    const counted = {
      ...integrity,
      entries: 13,
      duplicateEntries: 1,
      totalsByCurrency: [{ currency: 'EUR', sumMinor: '500' }],
    };
    expect(ledgerInvariantViolations(counted, [doubled, ...trails.slice(1)], expected)).toEqual([
      'integrity.duplicateEntries is 1, expected 0',
      "the ledger's EUR entries sum to 500, not 0",
      'tx-a: an entry is stored more than once',
      'tx-a: EUR legs sum to 500, not 0',
    ]);
  });

  it('given a declined trail with entries, then it is reported', () => {
    const posted = { ...trail('tx-d1', 'DECLINE'), ledgerEntries: legs('tx-d1', 500n) };
    expect(ledgerInvariantViolations(integrity, [...trails.slice(0, 3), posted, trails[4]!], expected)).toEqual([
      'tx-d1: declined but posted 2 entries',
    ]);
  });

  it('given the outcome under a misnamed field (decision.decision), then it is reported, not skipped', () => {
    const { outcome: _outcome, ...rest } = trail('tx-d2', 'DECLINE').decision;
    const misnamed = {
      ...trail('tx-d2', 'DECLINE'),
      decision: { ...rest, decision: 'DECLINE' },
    } as unknown as AuditTrail;
    expect(ledgerInvariantViolations(integrity, [...trails.slice(0, 4), misnamed], expected)).toEqual([
      'tx-d2: decision.outcome is undefined, not APPROVE, REVIEW or DECLINE',
      'tx-d2: declined, but its audit trail was not checked',
    ]);
  });

  it('given a declined id whose trail was never fetched, then it is reported', () => {
    expect(ledgerInvariantViolations(integrity, trails.slice(0, 4), expected)).toEqual([
      'tx-d2: declined, but its audit trail was not checked',
    ]);
  });

  it('given an outcome the alert list disagrees with, then it is reported', () => {
    expect(
      ledgerInvariantViolations(integrity, trails, {
        ...expected,
        declined: new Set(['tx-d1', 'tx-d2', 'tx-a']),
      }),
    ).toEqual([
      'integrity.postableDecisions is 5, expected 4',
      'integrity.postedTransactions is 6, expected 5',
      'tx-a: outcome APPROVE disagrees with the alert list',
      'tx-a: declined, but its audit trail was not checked',
    ]);
  });
});

describe('webhookDeliveryViolations', () => {
  const expected = new Set(['tx-1', 'tx-2']);
  const ok = [
    { eventId: 'evt_1', subjectId: 'tx-1', verified: true },
    { eventId: 'evt_2', subjectId: 'tx-2', verified: true },
  ];

  it('holds for every subject delivered once, and for repeats under the same id', () => {
    expect(webhookDeliveryViolations(expected, ok)).toEqual({ violations: [], duplicates: 0 });
    expect(webhookDeliveryViolations(expected, [...ok, ok[0]!])).toEqual({ violations: [], duplicates: 1 });
  });

  it('catches a lost event, an unexpected one, a new id for a repeat, a shared id and a bad signature', () => {
    expect(webhookDeliveryViolations(expected, [ok[0]!]).violations).toEqual(['tx-2: never delivered']);
    expect(
      webhookDeliveryViolations(expected, [...ok, { eventId: 'evt_9', subjectId: 'tx-9', verified: true }]).violations,
    ).toEqual(['tx-9: delivered but not expected']);
    expect(
      webhookDeliveryViolations(expected, [...ok, { eventId: 'evt_1b', subjectId: 'tx-1', verified: true }]).violations,
    ).toEqual(['tx-1: delivered again as evt_1b, first as evt_1']);
    expect(
      webhookDeliveryViolations(expected, [ok[0]!, { eventId: 'evt_1', subjectId: 'tx-2', verified: true }]).violations,
    ).toEqual(['evt_1: carries tx-2 and tx-1']);
    expect(webhookDeliveryViolations(expected, [ok[0]!, { ...ok[1]!, verified: false }]).violations).toEqual([
      'evt_2: signature not verified',
    ]);
  });
});

describe('deadLetterViolations', () => {
  const poison: PlantedPoison = {
    topic: 'tx.scored',
    partition: 2,
    offset: 7,
    bytes: Buffer.from([1, 2, 3]),
    expectedCodes: { 'ledger-sink': 'BAD_MAGIC_BYTE', dashboards: 'BAD_MAGIC_BYTE' },
  };
  const letterOf = (stage: string, overrides: Partial<DeadLetter> = {}): ObservedDeadLetter => ({
    letter: {
      stage,
      errorCode: 'BAD_MAGIC_BYTE',
      reason: 'record starts with byte 1',
      problems: [],
      sourceTopic: 'tx.scored',
      sourcePartition: 2,
      sourceOffset: 7n,
      key: 'acct-1',
      originalBytes: Buffer.from([1, 2, 3]),
      failedAtMs: 0,
      ...overrides,
    },
    headers: {
      'vigil.dlq.reason': 'record starts with byte 1',
      'vigil.dlq.error-code': overrides.errorCode ?? 'BAD_MAGIC_BYTE',
      'vigil.dlq.topic': 'tx.scored',
      'vigil.dlq.partition': '2',
      'vigil.dlq.offset': '7',
    },
  });
  const both = [letterOf('ledger-sink'), letterOf('dashboards')];

  it('holds when every stage reading the topic dead-lettered the record once, intact', () => {
    expect(deadLetterViolations([poison], both)).toEqual([]);
  });

  it('catches a missing, a repeated, a foreign, a wrongly placed, a mislabelled and a truncated dead letter', () => {
    expect(deadLetterViolations([poison], [both[0]!])).toEqual([
      'dashboards tx.scored/2/7: 0 dead letters, expected 1',
    ]);
    expect(deadLetterViolations([poison], [...both, both[1]!])).toEqual([
      'dashboards tx.scored/2/7: 2 dead letters, expected 1',
    ]);
    expect(deadLetterViolations([poison], [...both, letterOf('scoring')])).toEqual([
      'scoring tx.scored/2/7: an unexpected dead letter',
    ]);
    const moved = letterOf('dashboards', { sourceOffset: 8n });
    expect(deadLetterViolations([poison], [both[0]!, moved])).toEqual([
      'dashboards tx.scored/2/8: the headers name tx.scored/2/7',
      'dashboards tx.scored/2/7: 0 dead letters, expected 1',
      'dashboards tx.scored/2/8: an unexpected dead letter',
    ]);
    expect(deadLetterViolations([poison], [both[0]!, letterOf('dashboards', { errorCode: 'CORRUPT_BODY' })])).toEqual([
      'dashboards tx.scored/2/7: error code CORRUPT_BODY, expected BAD_MAGIC_BYTE',
    ]);
    expect(
      deadLetterViolations([poison], [both[0]!, letterOf('dashboards', { originalBytes: Buffer.from([1, 2]) })]),
    ).toEqual(['dashboards tx.scored/2/7: original bytes not kept (2 of 3)']);
  });

  it('accepts a letter that says it cut the bytes only when the prefix, the length and the SHA-256 match', () => {
    const sha256 = createHash('sha256').update(poison.bytes).digest('hex');
    const cut = (bytes: number[], length: string, sha: string): ObservedDeadLetter => {
      const letter = letterOf('dashboards', { originalBytes: Buffer.from(bytes) });
      return {
        letter: letter.letter,
        headers: { ...letter.headers, 'vigil.dlq.original-length': length, 'vigil.dlq.original-sha256': sha },
      };
    };
    expect(deadLetterViolations([poison], [both[0]!, cut([1, 2], '3', sha256)])).toEqual([]);
    expect(deadLetterViolations([poison], [both[0]!, cut([1, 9], '3', sha256)])).toEqual([
      'dashboards tx.scored/2/7: cut original bytes do not match the record (2 of 3 kept)',
    ]);
    expect(deadLetterViolations([poison], [both[0]!, cut([1, 2], '3', 'f'.repeat(64))])).toEqual([
      'dashboards tx.scored/2/7: cut original bytes do not match the record (2 of 3 kept)',
    ]);
  });
});
