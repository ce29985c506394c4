import type { ClickHouseClient } from '@clickhouse/client';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bus } from '../platform/bus.js';
import type { AuditTrail, CasePage, LedgerIntegrity, SyncDecision, TransactionRequest } from '../schemas/api.js';
import { createCodec } from '../schemas/codec.js';
import type { DeadLetter, LedgerBalance } from '../schemas/generated/types.js';
import { EmbeddedSchemaRegistry } from '../schemas/registry.js';
import { HeaderNames, Topics } from '../schemas/topics.js';

/**
 * Helpers for tests that drive a running pipeline over HTTP: bounded waits on conditions, an API client, and the
 * ledger invariants every run must keep.
 */

/** The Chromium the console's browser tests drive: VIGIL_CHROMIUM, else Debian's package; throws, naming how to get one. */
export function chromiumExecutable(): string {
  const path = process.env['VIGIL_CHROMIUM'] ?? '/usr/bin/chromium';
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(
      `no Chromium executable at ${path}: this test drives the console in a real browser. Install Debian's ` +
        'package (sudo apt-get install -y chromium; .ci/run does it) or set VIGIL_CHROMIUM to a Chromium or ' +
        'Chrome executable.',
    );
  }
  return path;
}

/**
 * Where the browser tests save their screenshots: docs/screenshots/ (the README's pictures) when
 * VIGIL_UPDATE_SCREENSHOTS=1, else `scratch` — so a test run leaves the committed pictures alone.
 */
export function screenshotDirectory(scratch: string): string {
  const dir =
    process.env['VIGIL_UPDATE_SCREENSHOTS'] === '1'
      ? fileURLToPath(new URL('../docs/screenshots/', import.meta.url))
      : join(scratch, 'screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Polls `probe` until it returns a value other than undefined; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
      );
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
}

export function apiClient(baseUrl: string, key: string) {
  const call = async <T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<ApiResponse<T>> => {
    const response = await fetch(baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  };
  return {
    get: <T>(path: string) => call<T>('GET', path),
    post: <T>(path: string, body: unknown, contentType?: string) => call<T>('POST', path, body, contentType),
    put: <T>(path: string, body: unknown) => call<T>('PUT', path, body),
    delete: <T>(path: string) => call<T>('DELETE', path),
  };
}

/**
 * A card-present payment of `value` (a decimal string, e.g. "100.00") in `currency`, EUR unless given, from `payer` to
 * `payee`: the request body of the balance-policy tests, in both modes.
 */
export function cardPayment(
  id: string,
  payer: string,
  payee: string,
  value: string,
  currency = 'EUR',
): TransactionRequest {
  return {
    transactionId: id,
    channel: 'card',
    amount: { value, currency },
    payer: { accountId: payer },
    payee: { accountId: payee },
    card: { number: '4111111111111111', present: true },
    merchant: { id: 'merchant-funds', terminalId: 'term-funds', mcc: '5411' },
    location: { country: 'FR', latitude: 48.85, longitude: 2.35 },
  };
}

/**
 * Sends a card payment for a synchronous decision with `ingestKey`, expects a REVIEW (a held payment), and waits until
 * its alert is in its customer's case as `readerKey` sees the queue; the case id.
 */
export async function heldInCase(
  baseUrl: string,
  keys: { readonly ingestKey: string; readonly readerKey: string },
  payment: {
    readonly id: string;
    readonly payer: string;
    readonly payee: string;
    readonly value: string;
    /** EUR when not given. */
    readonly currency?: string;
  },
  timeoutMs: number,
): Promise<string> {
  const decided = await apiClient(baseUrl, keys.ingestKey).post<SyncDecision>(
    '/v1/decisions',
    cardPayment(payment.id, payment.payer, payment.payee, payment.value, payment.currency),
  );
  if (decided.status !== 200 || decided.body.decision !== 'REVIEW')
    throw new Error(`${payment.id}: expected 200 REVIEW, got ${decided.status} ${JSON.stringify(decided.body)}`);
  return waitFor(
    `a case with ${payment.id}`,
    async () => {
      const page = await apiClient(baseUrl, keys.readerKey).get<CasePage>('/v1/cases?sort=age&limit=500');
      return page.body.cases.find((c) => c.groupKey === `customer:${payment.payer}`)?.caseId;
    },
    timeoutMs,
  );
}

/** Waits until the transaction's hold has `status` (read with a compliance key); its audit trail. */
export function holdBecomes(
  baseUrl: string,
  complianceKey: string,
  transactionId: string,
  status: 'OPEN' | 'VOIDED' | 'POSTED',
  timeoutMs: number,
): Promise<AuditTrail> {
  return waitFor(
    `the hold of ${transactionId} to be ${status}`,
    async () => {
      const trail = await apiClient(baseUrl, complianceKey).get<AuditTrail>(`/v1/transactions/${transactionId}`);
      return trail.status === 200 && trail.body.hold?.status === status ? trail.body : undefined;
    },
    timeoutMs,
  );
}

/** Sum of a counter's samples (every label set) in Prometheus text; 0 when the counter is absent. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (match) sum += Number(match[2]);
  }
  return sum;
}

/**
 * Waits until scoring has applied a ledger balance of `accountId` with exactly `postedMinor` booked in `currency`
 * (minor units), so a debit sent next is checked against it. The balance is looked for on `ledger.balances` itself,
 * read from the start: ledger-sink publishes it after it wrote the batch, so a posted balance on the API does not
 * yet mean a published one. Scoring has applied it once `appliedByScoring()` (its
 * vigil_scoring_ledger_balances_applied_total) reaches the number of records the feed held then, as scoring applies
 * a partition's records once each and in order — exact while the feed carries one account (one partition), as in
 * the balance-policy tests. Resolves with that number; fails naming what it waited for after `timeoutMs` each.
 */
export async function waitForScoringBalance(
  bus: Bus,
  wanted: { accountId: string; currency: string; postedMinor: bigint },
  appliedByScoring: () => Promise<number>,
  timeoutMs = 60_000,
): Promise<number> {
  const codec = await createCodec<LedgerBalance>(new EmbeddedSchemaRegistry(), Topics.ledgerBalances);
  const published = await waitFor(
    `a balance of ${wanted.accountId} posting ${wanted.postedMinor} on the feed`,
    async () => {
      const ends = await bus.endOffsets(Topics.ledgerBalances);
      const balances: LedgerBalance[] = [];
      for (const [partition, end] of ends.entries())
        if (end > 0)
          for (const record of await bus.read(Topics.ledgerBalances, partition, 0, end))
            balances.push(await codec.decode(record.value));
      const shows = balances.some(
        (b) =>
          b.accountId === wanted.accountId &&
          b.balances.some((c) => c.currency === wanted.currency && c.postedMinor === wanted.postedMinor),
      );
      return shows ? balances.length : undefined;
    },
    timeoutMs,
  );
  await waitFor(
    `scoring to apply the ${published} ledger balances published`,
    async () => ((await appliedByScoring()) >= published ? true : undefined),
    timeoutMs,
  );
  return published;
}

/** What a run of the pipeline must have left in the ledger. */
export interface LedgerExpectation {
  /** Distinct transactions accepted; each must be decided exactly once. */
  readonly transactions: number;
  /** The ids the alert list shows as DECLINE: exactly these are unpostable. */
  readonly declined: ReadonlySet<string>;
  /** The ids the alert list shows as REVIEW: exactly these hold their legs until a verdict or expiry. */
  readonly reviewed: ReadonlySet<string>;
}

const OUTCOMES: ReadonlySet<unknown> = new Set(['APPROVE', 'REVIEW', 'DECLINE']);

/**
 * The invariants of a pipeline run, checked on the ledger-integrity report and on audit trails as the API served
 * them (untrusted JSON: a renamed field is a violation, not a skipped check). Returns one line per violation, empty
 * when the ledger is exact: every transaction decided once; every APPROVE booked, every REVIEW held exactly once
 * (open, posted or voided, resolved at most once, booked only if posted), each entry once, balanced per currency;
 * no DECLINE posted; and every declined id among `trails`. Pure, so each check can be shown to fail on planted
 * input (testing.test.ts). Traffic is assumed to hold no authorisations (they book nothing and hold nothing).
 */
export function ledgerInvariantViolations(
  integrity: LedgerIntegrity,
  trails: readonly AuditTrail[],
  expected: LedgerExpectation,
): string[] {
  const violations: string[] = [];
  const approved = expected.transactions - expected.declined.size - expected.reviewed.size;
  // Not here, on purpose: overCapturedAuthorizations, capturesWithoutAuthorization, refundsWithoutOriginal and
  // refundsBeyondOriginal are card-flow business exceptions the ledger books and reports (the card network already
  // moved the money), not faults of Vigil's; a run may show them and still be exact. authorizationHolds is no
  // invariant either: it only splits authorisations by state.
  const counters: Array<[Exclude<keyof LedgerIntegrity, 'totalsByCurrency' | 'authorizationHolds'>, number]> = [
    ['decisionRows', expected.transactions],
    ['distinctDecisions', expected.transactions],
    ['postableDecisions', approved],
    ['postedTransactions', approved + integrity.postedHolds],
    ['heldDecisions', expected.reviewed.size],
    ['duplicateEntries', 0],
    ['unbalancedTransactions', 0],
    ['declinedWithEntries', 0],
    ['decisionsWithoutEntries', 0],
    ['unpostableDecisions', 0],
    ['entriesWithoutDecisions', 0],
    ['conflicts', 0],
    ['reviewsWithoutHolds', 0],
    ['holdsResolvedTwice', 0],
    ['entriesOfUnpostedHolds', 0],
    ['entriesReversedTwice', 0],
    ['reversalsWithoutOriginal', 0],
  ];
  for (const [name, want] of counters)
    if (integrity[name] !== want) violations.push(`integrity.${name} is ${integrity[name]}, expected ${want}`);
  const holds = integrity.openHolds + integrity.postedHolds + integrity.voidedHolds;
  if (holds !== expected.reviewed.size)
    violations.push(`integrity: ${holds} holds open, posted or voided, expected ${expected.reviewed.size}`);
  for (const total of integrity.totalsByCurrency)
    if (total.sumMinor !== '0')
      violations.push(`the ledger's ${total.currency} entries sum to ${total.sumMinor}, not 0`);

  const declinedSeen = new Set<string>();
  for (const trail of trails) {
    const id = trail.transactionId;
    const outcome: unknown = (trail.decision as Partial<AuditTrail['decision']> | undefined)?.outcome;
    if (!OUTCOMES.has(outcome)) {
      violations.push(`${id}: decision.outcome is ${JSON.stringify(outcome)}, not APPROVE, REVIEW or DECLINE`);
      continue;
    }
    if (trail.decisionRecords !== 1) violations.push(`${id}: ${trail.decisionRecords} decision records, expected 1`);
    const entries = trail.ledgerEntries;
    const entryIds = new Set(entries.map((e) => e.entryId));
    if (entryIds.size !== entries.length) violations.push(`${id}: an entry is stored more than once`);
    const sums = new Map<string, bigint>();
    for (const e of entries)
      sums.set(e.amount.currency, (sums.get(e.amount.currency) ?? 0n) + BigInt(e.amount.amountMinor));
    for (const [currency, sum] of sums) if (sum !== 0n) violations.push(`${id}: ${currency} legs sum to ${sum}, not 0`);
    if ((outcome === 'DECLINE') !== expected.declined.has(id) || (outcome === 'REVIEW') !== expected.reviewed.has(id))
      violations.push(`${id}: outcome ${String(outcome)} disagrees with the alert list`);
    const hold = (trail as Partial<AuditTrail>).hold;
    if (outcome === 'DECLINE') {
      declinedSeen.add(id);
      if (entries.length > 0) violations.push(`${id}: declined but posted ${entries.length} entries`);
    } else if (outcome === 'APPROVE') {
      if (entries.length === 0) violations.push(`${id}: APPROVE but posted nothing`);
    } else if (hold === undefined || hold === null) violations.push(`${id}: REVIEW without a hold`);
    else {
      if (hold.resolutionRecords !== (hold.status === 'OPEN' ? 0 : 1))
        violations.push(`${id}: hold ${hold.status} with ${hold.resolutionRecords} resolutions`);
      if ((hold.status === 'POSTED') !== entries.length > 0)
        violations.push(`${id}: hold ${hold.status} but ${entries.length} entries booked`);
    }
  }
  for (const id of expected.declined)
    if (!declinedSeen.has(id)) violations.push(`${id}: declined, but its audit trail was not checked`);
  return violations;
}

/** The embedded pipeline running as a child process (`node --import tsx embedded/main.ts`). */
export interface PipelineProcess {
  readonly child: ChildProcess;
  /** Base URL of its HTTP server. */
  readonly url: string;
}

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * Starts the embedded pipeline on `dataDir` as a child process (port chosen by the OS, simulator off unless `env`
 * says otherwise) and resolves once it printed its URL; rejects with the end of its stderr if it exits first.
 */
export function startPipelineProcess(dataDir: string, env: Readonly<Record<string, string>>): Promise<PipelineProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'embedded/main.ts')], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      VIGIL_DATA_DIR: dataDir,
      VIGIL_HTTP_PORT: '0',
      VIGIL_SIMULATOR_TPS: '0',
      VIGIL_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const match = /dashboard:\s+(http:\/\/[\d.]+:\d+)\//.exec(stdout);
      if (match) resolve({ child, url: match[1]! });
    });
    child.once('exit', (code) =>
      reject(new Error(`pipeline exited with ${code} before it was ready: ${stderr.slice(-2000)}`)),
    );
  });
}

/** SIGKILL: no shutdown code runs. Resolves once the process is gone. */
export function killPipelineProcess(running: PipelineProcess): Promise<void> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    running.child.once('exit', () => resolve());
    running.child.kill('SIGKILL');
  });
}

/** SIGTERM: a clean stop. Resolves with the exit code. */
export function stopPipelineProcess(running: PipelineProcess): Promise<number | null> {
  return new Promise((resolve) => {
    running.child.once('exit', (code) => resolve(code));
    running.child.kill('SIGTERM');
  });
}

/** One webhook request as a receiver saw it: the event id, what the event was about, and the signature check. */
export interface ReceivedWebhook {
  readonly eventId: string;
  readonly subjectId: string;
  readonly verified: boolean | undefined;
}

/**
 * The at-least-once invariant of webhook deliveries, one line per violation (empty when it holds): every expected
 * subject arrived, nothing else did, every request's signature verified, and every repeat of an event carries the
 * id its first delivery had (a receiver de-duplicates on it). Duplicates are allowed; `duplicates` counts them.
 */
export function webhookDeliveryViolations(
  expectedSubjects: ReadonlySet<string>,
  received: readonly ReceivedWebhook[],
): { violations: string[]; duplicates: number } {
  const violations: string[] = [];
  const idBySubject = new Map<string, string>();
  const subjectById = new Map<string, string>();
  let duplicates = 0;
  for (const r of received) {
    if (r.verified !== true) violations.push(`${r.eventId}: signature not verified`);
    if (!expectedSubjects.has(r.subjectId)) violations.push(`${r.subjectId}: delivered but not expected`);
    const firstId = idBySubject.get(r.subjectId);
    if (firstId === undefined) idBySubject.set(r.subjectId, r.eventId);
    else {
      duplicates++;
      if (firstId !== r.eventId)
        violations.push(`${r.subjectId}: delivered again as ${r.eventId}, first as ${firstId}`);
    }
    const subject = subjectById.get(r.eventId);
    if (subject === undefined) subjectById.set(r.eventId, r.subjectId);
    else if (subject !== r.subjectId) violations.push(`${r.eventId}: carries ${r.subjectId} and ${subject}`);
  }
  for (const subject of expectedSubjects) if (!idBySubject.has(subject)) violations.push(`${subject}: never delivered`);
  return { violations, duplicates };
}

/** A poison record a test wrote straight onto a topic, and the dead letter each consuming stage must write for it. */
export interface PlantedPoison {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly bytes: Buffer;
  /** The error code each stage that reads `topic` must dead-letter it with, by stage name. */
  readonly expectedCodes: Readonly<Record<string, string>>;
}

/** A dead letter as read back from `tx.dlq`: the decoded value and the record's headers. */
export interface ObservedDeadLetter {
  readonly letter: DeadLetter;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The dead-letter invariant of poison records, one line per violation (empty when it holds): for every planted
 * record, each stage that reads its topic wrote exactly one dead letter naming its topic, partition and offset (in
 * the value and in the headers), with the expected error code, a reason and the original bytes intact (or, where the
 * letter says it cut them, a prefix of them with the whole length and SHA-256); and no other dead letter exists.
 * Pure, so a test can plant a fault in its view.
 */
export function deadLetterViolations(
  planted: readonly PlantedPoison[],
  observed: readonly ObservedDeadLetter[],
): string[] {
  const violations: string[] = [];
  const where = (topic: unknown, partition: unknown, offset: unknown) =>
    `${String(topic)}/${String(partition)}/${String(offset)}`;
  const byPlace = new Map<string, ObservedDeadLetter[]>();
  for (const o of observed) {
    const { letter, headers } = o;
    const place = where(letter.sourceTopic, letter.sourcePartition, letter.sourceOffset);
    const inHeaders = where(
      headers[HeaderNames.dlqSourceTopic],
      headers[HeaderNames.dlqSourcePartition],
      headers[HeaderNames.dlqSourceOffset],
    );
    if (inHeaders !== place) violations.push(`${letter.stage} ${place}: the headers name ${inHeaders}`);
    const key = `${letter.stage} ${place}`;
    byPlace.set(key, [...(byPlace.get(key) ?? []), o]);
  }
  const expectedKeys = new Set<string>();
  for (const poison of planted)
    for (const [stage, code] of Object.entries(poison.expectedCodes)) {
      const key = `${stage} ${where(poison.topic, poison.partition, poison.offset)}`;
      expectedKeys.add(key);
      const letters = byPlace.get(key) ?? [];
      if (letters.length !== 1) {
        violations.push(`${key}: ${letters.length} dead letters, expected 1`);
        continue;
      }
      const { letter, headers } = letters[0]!;
      if (letter.errorCode !== code || headers[HeaderNames.dlqErrorCode] !== code)
        violations.push(`${key}: error code ${letter.errorCode}, expected ${code}`);
      if (letter.reason === '' || (headers[HeaderNames.dlqReason] ?? '') === '') violations.push(`${key}: no reason`);
      const kept = Buffer.from(letter.originalBytes);
      const cutFrom = headers[HeaderNames.dlqOriginalLength];
      if (cutFrom === undefined) {
        if (!kept.equals(poison.bytes))
          violations.push(`${key}: original bytes not kept (${kept.length} of ${poison.bytes.length})`);
      } else if (
        cutFrom !== String(poison.bytes.length) ||
        headers[HeaderNames.dlqOriginalSha256] !== createHash('sha256').update(poison.bytes).digest('hex') ||
        !poison.bytes.subarray(0, kept.length).equals(kept)
      )
        violations.push(`${key}: cut original bytes do not match the record (${kept.length} of ${cutFrom} kept)`);
    }
  for (const key of byPlace.keys()) if (!expectedKeys.has(key)) violations.push(`${key}: an unexpected dead letter`);
  return violations;
}

/**
 * Every String-typed column (arrays and nullables included) of every ClickHouse table that stores rows, with the SQL
 * that reads it as text — what a scan for data that must not be stored goes through. A view (plain or materialised
 * into a table) holds no rows of its own and would only show its source's rows a second time.
 */
export async function storedStringColumns(
  clickhouse: ClickHouseClient,
): Promise<Array<{ table: string; column: string; textSql: string }>> {
  const columns = await (
    await clickhouse.query({
      query: `SELECT table, name, type FROM system.columns WHERE database = currentDatabase() AND type LIKE '%String%'
        AND table IN (SELECT name FROM system.tables WHERE database = currentDatabase() AND engine NOT IN ('View', 'MaterializedView'))`,
      format: 'JSONEachRow',
    })
  ).json<{ table: string; name: string; type: string }>();
  return columns.map(({ table, name, type }) => ({
    table,
    column: name,
    textSql: type.startsWith('Array(')
      ? `arrayStringConcat(arrayMap(x -> toString(x), ${name}), ' ')`
      : `toString(${name})`,
  }));
}
