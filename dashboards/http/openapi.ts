import { Role } from '../../platform/auth.js';
import {
  type ApiDocumentPart,
  GUARDED,
  type JsonSchema,
  type OperationObject,
  type ParameterObject,
  PUBLIC,
  jsonBody,
  jsonResponse,
  problems,
  ref,
  rolesMayCall,
} from '../../platform/openapi.js';
import { syncDecisionSchema } from '../../schemas/api-schemas.js';
import type {
  AccountBalance,
  AlertListItem,
  AuditHit,
  Caller,
  CaseActionRequest,
  CaseActionResult,
  CaseAlertView,
  CaseHistoryView,
  CasePage,
  CaseResolutionName,
  CaseSummary,
  CaseTimeline,
  CaseView,
  LabelView,
  LedgerIntegrity,
  PendingReleaseView,
  ShadowPairReport,
  ShadowReport,
  ShadowSettingView,
  ShadowSideReport,
  TimelineItem,
} from '../../schemas/api.js';
import { Channel, IngestSource, LabelValue, ReasonSource } from '../../schemas/generated/types.js';
import { accountTypeNames } from '../domain/accounts.js';
import { CaseState } from '../domain/cases.js';
import { LIVE_PATH } from '../ws/live-hub.js';

/**
 * The OpenAPI description of the dashboards' routes (http/*-routes.ts) and the console's pages, merged into
 * `/openapi.json` by startHttpServer. A route added to a router is documented here, once; the document's test fails
 * until it is. Every `/v1` read is recorded in the access log before it runs, and refused with 503
 * ACCESS_LOG_UNAVAILABLE when it cannot be: hence the 503 on each.
 */

const analystOrCompliance = rolesMayCall(Role.analyst, Role.compliance);
const compliance = rolesMayCall(Role.compliance);
const analyst = rolesMayCall(Role.analyst);
const admin = rolesMayCall(Role.admin);
const anyRole = rolesMayCall(...Object.values(Role));

const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const int = { type: 'integer' } as const;
const obj = (required: readonly string[], properties: Record<string, JsonSchema> = {}): JsonSchema => ({
  type: 'object',
  required,
  properties,
});
const list = (items: JsonSchema): JsonSchema => ({ type: 'array', items });
/**
 * An object whose every member is required, typed against the response's own type: tsc fails when a member is added
 * to the type and not to the schema, or the other way round.
 */
const whole = <T>(properties: Record<keyof T, JsonSchema>): JsonSchema => ({
  type: 'object',
  required: Object.keys(properties),
  properties,
});
const money = ref('MoneyView');
const instant = { type: 'string', format: 'date-time' } as const;
const count = { type: 'integer', minimum: 0 } as const;
/** A share in [0, 1]; null where its denominator is 0. */
const rate = { type: ['number', 'null'], minimum: 0, maximum: 1 } as const;

const balanceSchema = whole<AccountBalance>({
  accountId: str,
  balances: list(
    whole<AccountBalance['balances'][number]>({
      currency: { type: 'string', pattern: '^[A-Z]{3}$' },
      posted: money,
      pendingDebits: money,
      pendingCredits: money,
      available: money,
      overdraftLimit: { oneOf: [money, { type: 'null' }] },
      entries: count,
      openHolds: count,
      lastBookedAt: { oneOf: [instant, { type: 'null' }] },
    }),
  ),
  entryCount: count,
});

const ledgerIntegritySchema = whole<LedgerIntegrity>({
  decisionRows: count,
  distinctDecisions: count,
  postedTransactions: count,
  entries: count,
  duplicateEntries: count,
  unbalancedTransactions: count,
  declinedWithEntries: count,
  postableDecisions: count,
  unpostableDecisions: count,
  decisionsWithoutEntries: count,
  entriesWithoutDecisions: count,
  conflicts: count,
  heldDecisions: count,
  reviewsWithoutHolds: count,
  openHolds: count,
  postedHolds: count,
  voidedHolds: count,
  expiredHolds: count,
  holdsResolvedTwice: count,
  entriesOfUnpostedHolds: count,
  reversedTransactions: count,
  entriesReversedTwice: count,
  reversalsWithoutOriginal: count,
  overCapturedAuthorizations: count,
  capturesWithoutAuthorization: count,
  refundsWithoutOriginal: count,
  refundsBeyondOriginal: count,
  authorizationHolds: whole<LedgerIntegrity['authorizationHolds']>({ open: count, captured: count, voided: count }),
  totalsByCurrency: list(
    whole<LedgerIntegrity['totalsByCurrency'][number]>({
      currency: str,
      sumMinor: { type: 'string', pattern: '^-?[0-9]+$' },
    }),
  ),
});

/** A reason for a decision (the Avro `Reason`): what the console shows beside a score. */
const reasonSchema = obj(['code', 'description'], {
  code: str,
  source: { enum: Object.values(ReasonSource) },
  description: str,
  weight: { type: 'number' },
});
const labelSchema = whole<LabelView>({
  label: { enum: Object.values(LabelValue) },
  labelledBy: str,
  labelledAt: instant,
  note: nullableStr,
});

/** A transaction's pending hold (AuditTrail['hold']), or null when it never had one. */
const holdSchema = {
  oneOf: [
    obj(['kind', 'status', 'placedAt', 'expiresAt', 'resolution', 'legs'], {
      kind: { enum: ['REVIEW', 'AUTHORIZATION'] },
      status: { enum: ['OPEN', 'POSTED', 'VOIDED', 'CAPTURED'] },
      placedAt: instant,
      expiresAt: instant,
      resolution: {
        oneOf: [
          obj(['cause', 'resolvedBy', 'resolvedAt'], {
            cause: { enum: ['FRAUD', 'GENUINE', 'EXPIRED', 'CAPTURED'] },
            resolvedBy: str,
            resolvedAt: instant,
          }),
          { type: 'null' },
        ],
      },
      legs: list(obj(['leg', 'accountId', 'amount'], { leg: int, accountId: str, amount: money })),
    }),
    { type: 'null' },
  ],
};

const alertSchema = whole<AlertListItem>({
  transactionId: str,
  decision: { enum: ['REVIEW', 'DECLINE'] },
  score: { type: 'number', minimum: 0, maximum: 1 },
  reasons: list(reasonSchema),
  channel: { enum: Object.values(Channel) },
  kind: str,
  amount: money,
  payerAccountId: str,
  payeeAccountId: str,
  cardLast4: nullableStr,
  merchantId: nullableStr,
  country: nullableStr,
  modelVersion: str,
  eventTime: instant,
  scoredAt: instant,
  label: { oneOf: [labelSchema, { type: 'null' }] },
});

const auditHitSchema = whole<AuditHit>({
  transactionId: str,
  eventTime: instant,
  scoredAt: instant,
  decision: { enum: ['APPROVE', 'REVIEW', 'DECLINE'] },
  score: { type: 'number', minimum: 0, maximum: 1 },
  channel: str,
  kind: str,
  amount: money,
  payerAccountId: str,
  payeeAccountId: str,
  cardToken: nullableStr,
  cardLast4: nullableStr,
  merchantId: nullableStr,
  country: nullableStr,
  description: nullableStr,
  reasons: list(reasonSchema),
  modelVersion: str,
  rulesVersion: str,
});

const resolutionNames = ['fraud', 'genuine', 'escalated'] as const satisfies readonly CaseResolutionName[];
const caseResolution = { oneOf: [{ enum: resolutionNames }, { type: 'null' }] } as const;
const principalId = { type: 'string', pattern: '^[A-Za-z0-9._:@-]{1,200}$' } as const;
const caseNote = {
  type: 'string',
  minLength: 1,
  maxLength: 2000,
  description: 'Card numbers in it are masked.',
} as const;

/** The members of a case as the queue lists it; `CaseView` is these and its alerts, history and holds. */
const caseSummaryProperties: Record<keyof CaseSummary, JsonSchema> = {
  caseId: str,
  groupKey: {
    type: 'string',
    description: '`customer:<payer account>` or `card:<token>` (`card:[withheld]` to analysts).',
  },
  state: { enum: Object.values(CaseState) },
  resolution: caseResolution,
  assignee: nullableStr,
  priority: { type: 'string', pattern: '^[0-9]+$', description: 'Sum of risk × amount over its alerts, exact.' },
  openedAt: instant,
  updatedAt: instant,
  resolvedAt: { oneOf: [instant, { type: 'null' }] },
  resolvedBy: nullableStr,
  ageMs: count,
  slaDueAt: instant,
  slaBreached: { type: 'boolean' },
  alertCount: { type: 'integer', minimum: 1 },
  pendingRelease: {
    oneOf: [
      whole<PendingReleaseView>({
        requestedBy: str,
        requestedByName: nullableStr,
        requestedAt: instant,
        note: nullableStr,
      }),
      { type: 'null' },
    ],
  },
};

const caseViewSchema = whole<CaseView>({
  ...caseSummaryProperties,
  alerts: list(
    whole<CaseAlertView>({
      alertId: str,
      transactionId: str,
      decision: { enum: ['REVIEW', 'DECLINE', 'APPROVE'] },
      score: { type: 'number', minimum: 0, maximum: 1 },
      amount: money,
      payerAccountId: str,
      eventTime: instant,
      raisedAt: instant,
    }),
  ),
  history: list(
    whole<CaseHistoryView>({
      eventId: str,
      action: {
        enum: [
          'ALERT',
          'ASSIGN',
          'NOTE',
          'INVESTIGATE',
          'RESOLVE',
          'APPROVE_RELEASE',
        ] satisfies readonly CaseHistoryView['action'][],
      },
      by: str,
      byName: nullableStr,
      at: instant,
      alertId: nullableStr,
      assignee: nullableStr,
      note: nullableStr,
      resolution: caseResolution,
      awaitsApproval: { type: 'boolean' },
      withdrewRelease: { type: 'boolean' },
    }),
  ),
  holds: list(
    whole<CaseView['holds'][number]>({
      transactionId: str,
      hold: holdSchema,
      reversed: { type: 'boolean' },
    }),
  ),
});

const timelineSchema = whole<CaseTimeline>({
  items: list(
    whole<TimelineItem>({
      transactionId: str,
      eventTime: instant,
      channel: { enum: Object.values(Channel) },
      kind: str,
      amount: money,
      payerAccountId: str,
      payeeAccountId: str,
      merchantId: nullableStr,
      cardLast4: nullableStr,
      description: { type: ['string', 'null'], description: '`"[erased]"` once its customer’s data was erased.' },
      decision: { enum: ['APPROVE', 'REVIEW', 'DECLINE'] },
      score: { type: 'number', minimum: 0, maximum: 1 },
      topReasonCode: nullableStr,
      ledger: {
        enum: ['posted', 'held', 'reversed', 'not_posted'],
        description:
          '`posted`: legs booked (a captured authorisation too); `held`: a hold waits; `reversed`: booked, then ' +
          'reversed; `not_posted`: declined, voided, refused by the ledger, or not stored yet.',
      },
      matchedBy: {
        type: 'array',
        items: { enum: ['card', 'customer'] },
        minItems: 1,
        uniqueItems: true,
        description: 'Which of the case’s keys it matched: one of its cards, one of its customers (payer accounts).',
      },
      inCase: { type: 'boolean', description: 'One of the case’s own alerted transactions.' },
    }),
  ),
  nextCursor: nullableStr,
});

/** One alternative per action, each with exactly its own fields (case-actions.ts parseCaseAction). */
const caseActionFields: Record<
  CaseActionRequest['action'],
  { required: string[]; properties: Record<string, JsonSchema> }
> = {
  assign: { required: [], properties: { assignee: { ...principalId, description: 'Default: the caller.' } } },
  note: { required: ['note'], properties: { note: caseNote } },
  investigate: { required: [], properties: {} },
  resolve: {
    required: ['resolution'],
    properties: { resolution: { enum: resolutionNames }, note: caseNote },
  },
  'approve-release': { required: [], properties: { note: caseNote } },
};
const caseActionSchema: JsonSchema = {
  oneOf: Object.entries(caseActionFields).map(([action, { required, properties }]) => ({
    type: 'object',
    required: ['action', ...required],
    additionalProperties: false,
    properties: { action: { const: action }, ...properties },
  })),
};

const pathId = (name: string, example: string, pattern = '^[A-Za-z0-9._:-]{1,128}$'): ParameterObject => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string', pattern },
  example,
});
const query = (name: string, schema: JsonSchema, description: string, example?: unknown): ParameterObject => ({
  name,
  in: 'query',
  description,
  schema,
  ...(example === undefined ? {} : { example }),
});
const time = (name: string, description: string): ParameterObject =>
  query(name, { type: 'string' }, `${description}: ISO 8601 or epoch milliseconds`);
const limit = (max: number, fallback: number): ParameterObject =>
  query('limit', { type: 'integer', minimum: 1, maximum: max }, `At most this many (default ${fallback})`);
const cursor = query('cursor', { type: 'string' }, 'The previous page’s `nextCursor`');

/** A guarded `/v1` read or action: its own problems plus the guard's, the limiter's and the access log's 503. */
function op(
  operationId: string,
  summary: string,
  security: OperationObject['security'],
  responses: OperationObject['responses'],
  extra: Partial<OperationObject> & { readonly problems?: readonly number[] } = {},
): OperationObject {
  const { problems: own = [], ...rest } = extra;
  return {
    operationId,
    summary,
    tags: ['dashboards'],
    security,
    ...rest,
    responses: { ...responses, ...problems(...own, ...GUARDED, 503) },
  };
}

const exampleIds = {
  transaction: 'tx-example-0001',
  payer: 'acct-example-payer',
  customer: 'cust-example-0001',
} as const;

/**
 * The champion-challenger shapes, inline rather than components: the console's generated client reads every
 * component, and it has no shadow views.
 */
const shadowSideSchema = whole<ShadowSideReport>({
  alerts: count,
  alertRate: rate,
  truePositives: count,
  falsePositives: count,
  falseNegatives: count,
  precision: rate,
  recall: rate,
});

const shadowSettingSchema = whole<ShadowSettingView>({
  change: { enum: ['PUT', 'DELETE', 'PROMOTE'] },
  challenger: {
    oneOf: [
      { type: 'null' },
      whole<NonNullable<ShadowSettingView['challenger']>>({
        rulesVersion: nullableStr,
        rulesLabel: nullableStr,
        modelVersion: nullableStr,
      }),
    ],
  },
  championModelVersion: nullableStr,
  changedBy: str,
  changedAt: instant,
});
const shadowReportSchema = whole<ShadowReport>({
  from: instant,
  to: instant,
  pairs: list(
    whole<ShadowPairReport>({
      champion: obj(['modelVersion', 'rulesVersion'], { modelVersion: str, rulesVersion: str }),
      challenger: obj(['modelVersion', 'rulesVersion'], { modelVersion: str, rulesVersion: str }),
      transactions: count,
      labelled: count,
      labelledFraud: count,
      championSide: shadowSideSchema,
      challengerSide: shadowSideSchema,
      agreeing: count,
      agreementRate: rate,
      matrix: {
        type: 'object',
        description: 'matrix[champion decision][challenger decision] = transactions',
        required: ['APPROVE', 'REVIEW', 'DECLINE'],
        additionalProperties: false,
        properties: Object.fromEntries(
          ['APPROVE', 'REVIEW', 'DECLINE'].map((d) => [
            d,
            { type: 'object', required: ['APPROVE', 'REVIEW', 'DECLINE'], additionalProperties: count },
          ]),
        ),
      },
    }),
  ),
});

/** The currency of a decision's amount features, as the audit trail and the customer export give it. */
const reportingCurrencySchema: JsonSchema = {
  type: ['string', 'null'],
  pattern: '^[A-Z]{3}$',
  description:
    'ISO 4217 code of the currency the amount features are in: scoring’s reporting currency (VIGIL_REPORTING_CURRENCY) when it decided (ScoredTransaction v6). Null for decisions scored before v6, which did not record it — never filled in from today’s setting: v5 decisions since amount features were converted (2026-12-07) are in the reporting currency configured then (EUR unless set otherwise), earlier ones in each transaction’s own debited currency, unconverted.',
};

/** The currency of a decision's `amount` feature when it had no rate, as the audit trail and the customer export give it. */
const unconvertedCurrencySchema: JsonSchema = {
  type: ['string', 'null'],
  pattern: '^[A-Z]{3}$',
  description:
    'ISO 4217 code of the transaction’s debit currency when scoring’s rate table had no rate from it to `reportingCurrency` (ScoredTransaction v6): then the `amount` feature is in major units of this currency, not `reportingCurrency`, and the card and customer windows it joined counted it unconverted. Null when it converted, and for decisions that did not record it.',
};

const schemas: Record<string, JsonSchema> = {
  SyncDecision: syncDecisionSchema,
  CaseSummary: whole<CaseSummary>(caseSummaryProperties),
  MoneyView: {
    type: 'object',
    description: 'A decimal string from exact minor units, beside the minor units themselves (a string: no float).',
    required: ['amount', 'amountMinor', 'currency'],
    properties: {
      amount: { type: 'string', pattern: '^-?[0-9]+(\\.[0-9]+)?$' },
      amountMinor: { type: 'string', pattern: '^-?[0-9]+$' },
      currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    },
  },
  AuditTrail: obj(
    [
      'transactionId',
      'fingerprint',
      'transaction',
      'decision',
      'timeline',
      'decisionRecords',
      'ledgerEntries',
      'hold',
      'labels',
      'conflicts',
      'reportingCurrency',
      'unconvertedCurrency',
    ],
    {
      transactionId: str,
      fingerprint: { ...nullableStr, description: 'Null for roles that may not see it (analyst).' },
      transaction: obj(['channel', 'kind', 'source', 'amount', 'payerAccountId', 'payeeAccountId'], {
        channel: str,
        kind: str,
        source: str,
        amount: ref('MoneyView'),
        payerAccountId: str,
        payeeAccountId: str,
      }),
      decision: obj(['outcome', 'score', 'reasonCodes', 'modelVersion', 'rulesVersion'], {
        outcome: { enum: ['APPROVE', 'REVIEW', 'DECLINE'] },
        score: { type: 'number' },
        reasons: list(reasonSchema),
        reasonCodes: list(str),
        modelVersion: str,
        rulesVersion: str,
      }),
      timeline: obj(['eventTime', 'receivedAt', 'scoredAt', 'storedAt']),
      decisionRecords: int,
      ledgerEntries: list(
        obj(['entryId', 'leg', 'accountId', 'amount', 'entryType', 'eventTime', 'postedAt', 'reversesEntryId'], {
          entryId: str,
          leg: int,
          accountId: str,
          amount: ref('MoneyView'),
          entryType: str,
          eventTime: instant,
          postedAt: instant,
          reversesEntryId: nullableStr,
        }),
      ),
      hold: holdSchema,
      features: {
        type: 'object',
        description:
          'Every feature value the model and rules saw, by name (schemas/features.ts); amounts in major units of `reportingCurrency`, except `amount` when `unconvertedCurrency` names its currency.',
        additionalProperties: { type: ['number', 'null'] },
      },
      reportingCurrency: reportingCurrencySchema,
      unconvertedCurrency: unconvertedCurrencySchema,
      labels: list(labelSchema),
      conflicts: list({ type: 'object' }),
    },
  ),
  AccountView: obj(['accountId', 'type', 'normalSide', 'currency', 'scheme', 'policy', 'configured'], {
    accountId: str,
    type: { enum: accountTypeNames },
    normalSide: { enum: ['debit', 'credit'] },
    currency: nullableStr,
    scheme: nullableStr,
    policy: { oneOf: [{ type: 'null' }, obj(['overdraftLimit'], { overdraftLimit: ref('MoneyView') })] },
    configured: { type: 'boolean' },
  }),
  ApiKeyView: obj(
    [
      'keyId',
      'role',
      'name',
      'principalId',
      'status',
      'createdBy',
      'createdAt',
      'expiresAt',
      'rotatedTo',
      'revokedAt',
      'revokedBy',
    ],
    {
      keyId: { type: 'string', pattern: '^key_[0-9a-f]{12}$' },
      role: { enum: Object.values(Role) },
      status: { enum: ['active', 'expired', 'revoked'] },
      expiresAt: nullableStr,
      rotatedTo: nullableStr,
      revokedAt: nullableStr,
      revokedBy: nullableStr,
    },
  ),
  RulesView: obj(['version', 'label', 'rules'], {
    version: { type: 'string', description: 'SHA-256 of the canonical rules document.' },
    label: { type: 'string', description: 'The document’s own `version` field.' },
    rules: { type: 'object' },
  }),
  RulesDocument: {
    type: 'object',
    description:
      'A rules document (the shape of scoring/rules.json): validated whole by scoring’s own validation, every problem ' +
      'answered with its path.',
    required: ['version', 'rules'],
    properties: {
      version: { type: 'string', minLength: 1 },
      lists: { type: 'object', additionalProperties: { type: 'array', items: str } },
      rules: list(
        obj(['code', 'description', 'when', 'action'], {
          code: { type: 'string', pattern: '^R_[A-Z0-9_]+$' },
          description: str,
          when: { type: 'object' },
          unless: { type: 'object' },
          action: { enum: ['DECLINE', 'REVIEW', 'ADD_RISK'] },
          risk: { type: 'number', minimum: 0, maximum: 1 },
          enabled: { type: 'boolean' },
        }),
      ),
    },
  },
};

const exampleRules = {
  version: '2026.12.1-example',
  lists: { deniedCountries: ['KP', 'IR', 'SY', 'CU'] },
  rules: [
    {
      code: 'R_DENIED_COUNTRY',
      description: 'Transaction in deny-listed country {country}',
      when: { field: 'country', in: 'deniedCountries' },
      action: 'DECLINE',
    },
  ],
};

const page = (name: string, items: JsonSchema): JsonSchema =>
  obj([name, 'nextCursor'], { [name]: list(items), nextCursor: nullableStr });

const html = { description: 'The page', content: { 'text/html': { schema: str } } };
const consolePage = (operationId: string, summary: string): OperationObject => ({
  operationId,
  summary,
  description: 'Static, holds no data: the browser loads it without a key, and it signs the person in.',
  tags: ['console'],
  security: PUBLIC,
  responses: { '200': html, ...problems(429) },
});

const fullApi: ApiDocumentPart = {
  tags: {
    dashboards: `Audit trail, alerts, cases, accounts, reports, rules, API keys and data-subject rights. The live alert feed is a WebSocket at \`${LIVE_PATH}\` (not described here: OpenAPI has no WebSocket operations).`,
    console: 'The web console: a static page and its assets.',
  },
  schemas,
  paths: {
    '/': { get: consolePage('getConsole', 'The web console') },
    '/index.html': { get: consolePage('getConsoleIndex', 'The web console, by its file name') },
    '/assets/currencies.json': {
      get: {
        operationId: 'getCurrencyExponents',
        summary: 'ISO 4217 minor-unit exponents, for the console',
        tags: ['console'],
        security: PUBLIC,
        responses: {
          '200': jsonResponse('Currency code → exponent', {
            type: 'object',
            additionalProperties: { type: 'integer', minimum: 0 },
          }),
          ...problems(429),
        },
      },
    },
    '/assets/sign-in.json': {
      get: {
        operationId: 'getConsoleSignIn',
        summary: 'Where the console signs people in: an issuer URL and a client id, or null (it asks for a key)',
        tags: ['console'],
        security: PUBLIC,
        responses: {
          '200': jsonResponse('The sign-in settings', { type: ['object', 'null'] }),
          ...problems(429),
        },
      },
    },
    '/v1/transactions/{id}': {
      get: op(
        'getAuditTrail',
        'Everything recorded about one transaction: input, features, decision, ledger legs, hold, verdicts',
        analystOrCompliance,
        { '200': jsonResponse('The audit trail', ref('AuditTrail')) },
        { parameters: [pathId('id', exampleIds.transaction)], problems: [400, 404] },
      ),
    },
    '/v1/decisions/{id}': {
      get: op(
        'getDecision',
        'The recorded decision on one transaction and the ledger’s state',
        rolesMayCall(Role.ingest),
        { '200': jsonResponse('The decision', ref('SyncDecision')) },
        { parameters: [pathId('id', exampleIds.transaction)], problems: [400, 404] },
      ),
    },
    '/v1/audit/search': {
      get: op(
        'searchAudit',
        'Search decisions by text, account, card token, channel, decision, score and time',
        compliance,
        {
          '200': jsonResponse('One page of hits; `total` when exact, `totalAtLeast` once counting stopped', {
            type: 'object',
            required: ['hits', 'nextCursor'],
            properties: {
              hits: list(auditHitSchema),
              nextCursor: nullableStr,
              total: count,
              totalAtLeast: count,
            },
          }),
        },
        {
          parameters: [
            query('q', str, 'Free text', 'example'),
            query('account', str, 'Payer or payee account id'),
            query('cardToken', str, 'A card token'),
            query('channel', { enum: Object.values(Channel) }, 'Channel'),
            query('decision', { enum: ['APPROVE', 'REVIEW', 'DECLINE'] }, 'Decision'),
            query('minScore', { type: 'number', minimum: 0, maximum: 1 }, 'Lowest model score'),
            query('maxScore', { type: 'number', minimum: 0, maximum: 1 }, 'Highest model score'),
            time('from', 'Inclusive start'),
            time('to', 'Exclusive end'),
            limit(500, 50),
            cursor,
          ],
          problems: [400],
        },
      ),
    },
    '/v1/me': {
      get: op('getCaller', 'Who the presented key or token is: principal id, role and display name', anyRole, {
        '200': jsonResponse(
          'The caller',
          whole<Caller>({
            id: str,
            role: { type: 'string', enum: Object.values(Role) },
            name: nullableStr,
          }),
        ),
      }),
    },
    '/v1/audit/access': {
      get: op(
        'getAccessLog',
        'The access log: who read, searched, exported, labelled or changed what, newest first',
        compliance,
        {
          '200': jsonResponse(
            'One page of the log',
            page('entries', obj(['at', 'principal', 'principalName', 'role', 'action', 'resource', 'query'])),
          ),
        },
        {
          parameters: [
            query('resource', str, 'Exact resource, e.g. `transaction/tx-1`', `transaction/${exampleIds.transaction}`),
            query('principal', str, 'A principal id, e.g. `analyst:1a2b3c4d` or `user:<sub>`'),
            query('action', str, 'An action, e.g. `label.create`'),
            time('from', 'Inclusive start'),
            time('to', 'Exclusive end (default now)'),
            limit(1000, 100),
            cursor,
          ],
          problems: [400],
        },
      ),
    },
    '/v1/alerts': {
      get: op(
        'listAlerts',
        'The analysts’ queue: recent REVIEW and DECLINE decisions',
        analyst,
        {
          '200': jsonResponse('One page of alerts', page('alerts', alertSchema)),
        },
        {
          parameters: [
            query('decision', { enum: ['REVIEW', 'DECLINE'] }, 'Only this decision'),
            time('since', 'Since (default 7 days ago)'),
            limit(500, 50),
            cursor,
          ],
          problems: [400],
        },
      ),
    },
    '/v1/cases': {
      get: op(
        'listCases',
        'The case queue: REVIEW and DECLINE alerts grouped per customer (or card), by priority or age',
        analystOrCompliance,
        {
          '200': jsonResponse(
            'One page of cases',
            whole<CasePage>({ cases: list(ref('CaseSummary')), next: nullableStr }),
            {
              links: {
                getCase: {
                  operationId: 'getCase',
                  parameters: { id: '$response.body#/cases/0/caseId' },
                  description: 'The first case listed, whole',
                },
                actOnCase: {
                  operationId: 'actOnCase',
                  parameters: { id: '$response.body#/cases/0/caseId' },
                  description: 'A step on the first case listed',
                },
                getCaseTimeline: {
                  operationId: 'getCaseTimeline',
                  parameters: { id: '$response.body#/cases/0/caseId' },
                  description: 'The recent transactions of the first case’s cards and customers',
                },
              },
            },
          ),
        },
        {
          description:
            'A case is opened by a REVIEW or DECLINE alert, or joined by one for the same customer (or card) within ' +
            'the join window; its id is the one a caller takes from here.',
          parameters: [
            query(
              'state',
              { enum: [...Object.values(CaseState), 'unresolved'] },
              'Only cases in this state (`unresolved`: all but resolved)',
              CaseState.open,
            ),
            query('assignee', str, 'Only cases assigned to this principal id'),
            query('sort', { enum: ['priority', 'age'] }, 'Highest priority first (default), or oldest first'),
            limit(500, 50),
            query('cursor', { type: 'string' }, 'The previous page’s `next`'),
          ],
          problems: [400],
        },
      ),
    },
    '/v1/cases/{id}': {
      get: op(
        'getCase',
        'One case: its alerts, every step with who took it and when, and each alerted transaction’s hold',
        analystOrCompliance,
        { '200': jsonResponse('The case', caseViewSchema) },
        {
          description: '404 CASE_NOT_FOUND until the alert that opens it has been folded.',
          parameters: [pathId('id', 'case-alert-example')],
          problems: [400, 404],
        },
      ),
    },
    '/v1/cases/{id}/timeline': {
      get: op(
        'getCaseTimeline',
        'The recent transactions of a case’s cards and customers, newest first, each marked by the key it matched',
        analystOrCompliance,
        { '200': jsonResponse('One page of the timeline', timelineSchema) },
        {
          description:
            'Keyed by the case: the cards and payer accounts of its alerts, looked up by the server, so an analyst ' +
            'needs no card token (analysts never see one). Ordered by event time, ties by transaction id (both ' +
            'newest first); one item per transaction, with where the ledger stands. 404 CASE_NOT_FOUND until the ' +
            'alert that opens the case has been folded.',
          parameters: [pathId('id', 'case-alert-example'), limit(200, 25), cursor],
          problems: [400, 404],
        },
      ),
    },
    '/v1/cases/{id}/actions': {
      post: op(
        'actOnCase',
        'A step on a case: assign, note, investigate, resolve (fraud, genuine, escalated) or approve a release',
        analyst,
        {
          '200': jsonResponse(
            'Applied: the case after the step, and how many verdicts it put on analyst.labels',
            whole<CaseActionResult>({ case: ref('CaseSummary'), labelsSent: count }),
          ),
        },
        {
          description:
            'Resolving as fraud labels every alerted transaction FRAUD (holds voided, booked payments reversed); ' +
            'as genuine, GENUINE (holds booked) — unless a held amount is above the four-eyes limit: then the ' +
            'release waits for a second analyst’s `approve-release`. Refusals: 403 CASE_FOUR_EYES_SAME_PERSON (the ' +
            'analyst who asked for the release approves it), 409 CASE_ACTION_REFUSED (not in a state that allows ' +
            'the step, or another analyst acted first: reload the case), 404 CASE_NOT_FOUND, 503 CASES_UNAVAILABLE ' +
            '(the step was not folded in time; it may have taken effect).',
          parameters: [pathId('id', 'case-alert-example')],
          requestBody: jsonBody(caseActionSchema, { action: 'assign' }, 'Assign with no `assignee`: to the caller.'),
          problems: [400, 404, 409, 413],
        },
      ),
    },
    '/v1/labels': {
      post: op(
        'createLabel',
        'An analyst’s verdict on a transaction: fraud or genuine (feeds scoring and the ledger)',
        analyst,
        {
          '202': jsonResponse(
            'Durable on analyst.labels',
            obj(['status', 'label', 'partition', 'offset'], {
              status: { const: 'accepted' },
              label: obj(['transactionId', 'label', 'labelledBy', 'labelledAt'], {
                transactionId: str,
                label: { enum: Object.values(LabelValue) },
                labelledBy: str,
                labelledAt: instant,
              }),
              partition: { type: ['integer', 'null'] },
              offset: { type: ['integer', 'null'] },
            }),
          ),
        },
        {
          description:
            'A FRAUD verdict voids a held transaction or reverses booked money once; GENUINE books a held one, ' +
            'except one held above the four-eyes limit in a case: 409 CASE_RELEASE_NEEDS_APPROVAL (resolve the ' +
            'case as genuine instead).',
          requestBody: jsonBody(
            {
              type: 'object',
              required: ['transactionId', 'label'],
              properties: {
                transactionId: str,
                label: { enum: ['fraud', 'genuine'] },
                note: { type: 'string', maxLength: 1000 },
              },
            },
            { transactionId: exampleIds.transaction, label: 'genuine', note: 'customer confirmed by phone' },
          ),
          problems: [400, 404, 409, 413],
        },
      ),
    },
    '/v1/accounts': {
      get: op(
        'listAccounts',
        'The chart of accounts: every configured account, by id',
        compliance,
        {
          '200': jsonResponse(
            'The accounts',
            obj(['accounts', 'total', 'truncated'], { accounts: list(ref('AccountView')), total: int }),
          ),
        },
        { parameters: [limit(10_000, 10_000)], problems: [400] },
      ),
    },
    '/v1/accounts/{id}': {
      get: op(
        'getAccount',
        'One account: its type, normal side, scheme and balance policy, or the default',
        analystOrCompliance,
        { '200': jsonResponse('The account', ref('AccountView')) },
        { parameters: [pathId('id', exampleIds.payer)], problems: [400] },
      ),
      put: op(
        'putAccount',
        'Set an account’s type, currency, balance policy and (clearing, settlement) scheme',
        admin,
        { '200': jsonResponse('The account as set', ref('AccountView')) },
        {
          description: 'Durable on the accounts topic before the answer; scoring and the ledger apply it from there.',
          parameters: [pathId('id', exampleIds.payer)],
          requestBody: jsonBody(
            {
              type: 'object',
              required: ['type', 'currency'],
              additionalProperties: false,
              properties: {
                type: { enum: accountTypeNames },
                currency: { type: 'string', pattern: '^[A-Z]{3}$' },
                policy: {
                  type: ['object', 'null'],
                  properties: { overdraftLimit: { oneOf: [ref('Money'), { type: 'null' }] } },
                },
                scheme: nullableStr,
              },
            },
            { type: 'customer', currency: 'EUR', policy: { overdraftLimit: { value: '500.00', currency: 'EUR' } } },
          ),
          problems: [400, 413],
        },
      ),
    },
    '/v1/accounts/{id}/balance': {
      get: op(
        'getAccountBalance',
        'Exact balances per currency: posted, pending debits and credits of open holds, available',
        analystOrCompliance,
        {
          '200': jsonResponse('The balances', balanceSchema),
        },
        { parameters: [pathId('id', exampleIds.payer)], problems: [400, 404] },
      ),
    },
    '/v1/accounts/{id}/statement': {
      get: op(
        'getAccountStatement',
        'An account’s statement: opening, entries with running balance, closing per currency',
        compliance,
        {
          '200': {
            description: 'The statement; `Accept: text/csv` gives the same as one CSV table',
            content: {
              'application/json': { schema: obj(['accountId', 'from', 'to', 'currencies', 'lines', 'truncated']) },
              'text/csv': { schema: str },
            },
          },
        },
        {
          parameters: [
            pathId('id', exampleIds.payer),
            time('from', 'Inclusive start (default 31 days before `to`)'),
            time('to', 'Exclusive end (default now)'),
            limit(10_000, 1000),
          ],
          problems: [400],
        },
      ),
    },
    '/v1/reports/summary': {
      get: op(
        'getSummaryReport',
        'Volumes and decisions by channel, currency and source; fraud rate',
        analystOrCompliance,
        { '200': jsonResponse('The summary', obj(['from', 'to', 'totals', 'volumes'])) },
        {
          parameters: [
            time('from', 'Inclusive start (default a day before `to`)'),
            time('to', 'Exclusive end (default now)'),
            query('source', { enum: Object.values(IngestSource) }, 'Only this source'),
            query('excludeSource', { enum: Object.values(IngestSource) }, 'All but this source', 'SIMULATOR'),
          ],
          problems: [400],
        },
      ),
    },
    '/v1/reports/trial-balance': {
      get: op(
        'getTrialBalance',
        'Debits, credits and normal-side balances per account type and currency, clearing and findings',
        compliance,
        { '200': jsonResponse('The trial balance', obj(['balanced', 'reconciled', 'lines', 'findings'])) },
        {
          parameters: [query('top', { type: 'integer', minimum: 1, maximum: 10_000 }, 'Largest accounts listed')],
          problems: [400],
        },
      ),
    },
    '/v1/reports/ledger-integrity': {
      get: op(
        'getLedgerIntegrity',
        'The ledger’s invariants as counters (duplicates, unbalanced transactions, conflicts: all zero)',
        compliance,
        {
          '200': jsonResponse('The counters', ledgerIntegritySchema),
        },
      ),
    },
    '/v1/reports/large-cash': {
      get: op(
        'getLargeCashReport',
        'Cash transactions at or just under the reporting threshold per currency (structuring)',
        compliance,
        { '200': jsonResponse('The report', obj(['from', 'to', 'bandPercent', 'minTransactions', 'currencies'])) },
        {
          parameters: [
            query('currency', { type: 'string', pattern: '^[A-Z]{3}$' }, 'Only this currency'),
            query('threshold', str, 'With `currency`: its threshold in major units'),
            query('band', { type: 'integer', minimum: 1, maximum: 50 }, 'Percent under the threshold (default 20)'),
            query('minTransactions', { type: 'integer', minimum: 1, maximum: 1000 }, 'Fewest per account (default 3)'),
            time('from', 'Inclusive start (default 31 days before `to`)'),
            time('to', 'Exclusive end (default now)'),
            limit(5000, 200),
          ],
          problems: [400],
        },
      ),
    },
    '/v1/rules': {
      put: op(
        'putRules',
        'Put a rules document in force on every scoring member, between two batches, without a restart',
        admin,
        {
          '202': jsonResponse(
            'Validated and published; each scoring member applies it once it reads it',
            ref('RulesView'),
            {
              links: {
                archivedVersion: {
                  operationId: 'getRulesVersion',
                  parameters: { version: '$response.body#/version' },
                  description: 'The version as archived',
                },
              },
            },
          ),
        },
        { requestBody: jsonBody(ref('RulesDocument'), exampleRules), problems: [400, 413] },
      ),
    },
    '/v1/rules/active': {
      get: op(
        'getActiveRules',
        'The rules last put in force through the API',
        analystOrCompliance,
        { '200': jsonResponse('The rules in force', ref('RulesView')) },
        { problems: [404] },
      ),
    },
    '/v1/rules/{version}': {
      get: op(
        'getRulesVersion',
        'The archived rules document a decision’s `rulesVersion` names',
        compliance,
        { '200': jsonResponse('The archived document', ref('RulesView')) },
        { parameters: [pathId('version', 'a'.repeat(64))], problems: [400, 404] },
      ),
    },
    '/v1/shadow': {
      get: op(
        'getShadow',
        'The champion-challenger setting: the challenger scoring beside the champion, and a promoted champion model',
        analystOrCompliance,
        { '200': jsonResponse('The setting', shadowSettingSchema) },
        { problems: [404] },
      ),
      put: op(
        'putShadow',
        'Set a challenger (rules and/or a candidate model) that every scoring member runs beside the champion; its decisions are recorded, never acted on',
        admin,
        {
          '202': jsonResponse(
            'Validated and published; each scoring member sets it between two batches',
            shadowSettingSchema,
          ),
        },
        {
          requestBody: jsonBody(
            {
              type: 'object',
              additionalProperties: false,
              minProperties: 1,
              properties: {
                rules: ref('RulesDocument'),
                modelVersion: {
                  type: 'string',
                  pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$',
                  description:
                    'A candidate model’s version (its metadata.json) in the scoring process’s candidates directory.',
                },
              },
            },
            { rules: exampleRules },
          ),
          problems: [400, 413],
        },
      ),
      delete: op('deleteShadow', 'Stop the challenger (idempotent); the champion is unchanged', admin, {
        '202': jsonResponse('Published; each scoring member stops it between two batches', shadowSettingSchema),
      }),
    },
    '/v1/shadow/promote': {
      post: op(
        'promoteShadow',
        'Make the challenger’s rules the rules in force and its model the champion on every scoring member; the slot is then empty',
        admin,
        {
          '202': jsonResponse(
            'Published; each scoring member switches between two batches',
            obj(['promoted', 'setting'], {
              promoted: obj(['rulesVersion', 'rulesLabel', 'modelVersion'], {
                rulesVersion: nullableStr,
                rulesLabel: nullableStr,
                modelVersion: nullableStr,
              }),
              setting: shadowSettingSchema,
            }),
          ),
        },
        { problems: [404] },
      ),
    },
    '/v1/shadow/report': {
      get: op(
        'getShadowReport',
        'Champion against challenger per version pair: alert rates, the 3×3 decision matrix, precision and recall on verdicts',
        compliance,
        { '200': jsonResponse('The report', shadowReportSchema) },
        {
          parameters: [
            time('from', 'Inclusive start of the scoring time (default 7 days before `to`)'),
            time('to', 'Exclusive end (default now)'),
          ],
          problems: [400],
        },
      ),
    },
    '/v1/api-keys': {
      get: op('listApiKeys', 'Managed API keys (never a secret)', admin, {
        '200': jsonResponse('The keys', obj(['keys'], { keys: list(ref('ApiKeyView')) })),
      }),
      post: op(
        'createApiKey',
        'Create a managed API key for a machine feed; its secret is shown once',
        admin,
        {
          '201': jsonResponse(
            'The key and its secret',
            { allOf: [ref('ApiKeyView'), obj(['key'], { key: str })] },
            {
              links: {
                rotate: { operationId: 'rotateApiKey', parameters: { id: '$response.body#/keyId' } },
                revoke: { operationId: 'revokeApiKey', parameters: { id: '$response.body#/keyId' } },
              },
            },
          ),
        },
        {
          requestBody: jsonBody(
            {
              type: 'object',
              required: ['role', 'name'],
              additionalProperties: false,
              properties: {
                role: { enum: Object.values(Role) },
                name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,99}$' },
                expiresAt: { type: 'string', format: 'date-time' },
              },
            },
            { role: 'ingest', name: 'card processor feed' },
          ),
          problems: [400, 413],
        },
      ),
    },
    '/v1/api-keys/{id}': {
      delete: op(
        'revokeApiKey',
        'Revoke a managed key (revoking twice keeps the first revocation)',
        admin,
        { '200': jsonResponse('The key as revoked', ref('ApiKeyView')) },
        { parameters: [pathId('id', 'key_000000000000', '^key_[0-9a-f]{12}$')], problems: [400, 404] },
      ),
    },
    '/v1/api-keys/{id}/rotate': {
      post: op(
        'rotateApiKey',
        'Issue a successor; the old key keeps working for the overlap',
        admin,
        {
          '201': jsonResponse('The successor, its secret, and the key it replaces', {
            allOf: [ref('ApiKeyView'), obj(['key', 'replaces'], { key: str, replaces: ref('ApiKeyView') })],
          }),
        },
        {
          parameters: [pathId('id', 'key_000000000000', '^key_[0-9a-f]{12}$')],
          requestBody: jsonBody(
            {
              type: 'object',
              additionalProperties: false,
              properties: { overlapSeconds: { type: 'integer', minimum: 0, maximum: 2_592_000 } },
            },
            { overlapSeconds: 3600 },
          ),
          problems: [400, 404, 413],
        },
      ),
    },
    '/v1/customers/{id}/personal-data': {
      delete: op(
        'erasePersonalData',
        'Erase a customer’s personal data (GDPR art. 17) by destroying their data keys; idempotent',
        compliance,
        {
          '200': jsonResponse(
            'Erased: their personal values read as "[erased]" from now on; amounts and decisions stay',
            obj(['customerId', 'erasedAt', 'destroyedKeyVersions'], { destroyedKeyVersions: list(int) }),
          ),
        },
        { parameters: [pathId('id', exampleIds.customer)], problems: [400] },
      ),
    },
    '/v1/customers/{id}/export': {
      get: op(
        'exportCustomer',
        'What Vigil holds about a customer (GDPR art. 15, 20): their transactions and key state',
        compliance,
        {
          '200': jsonResponse(
            'One page of the export',
            obj(['customerId', 'generatedAt', 'personalData', 'transactions', 'nextCursor'], {
              transactions: list(
                obj(['transactionId'], {
                  decision: obj(
                    ['outcome', 'score', 'reasons', 'features', 'reportingCurrency', 'unconvertedCurrency'],
                    {
                      reportingCurrency: reportingCurrencySchema,
                      unconvertedCurrency: unconvertedCurrencySchema,
                    },
                  ),
                }),
              ),
              nextCursor: nullableStr,
            }),
          ),
        },
        { parameters: [pathId('id', exampleIds.customer), limit(1000, 200), cursor], problems: [400] },
      ),
    },
  },
};

/**
 * The dashboards' part of the document, for what this process serves: the rules control (`PUT /v1/rules`,
 * `GET /v1/rules/active`), the champion-challenger routes (`/v1/shadow…`, which need the rules control too) and managed API keys (`/v1/api-keys`) only where dashboardsRouter mounts them.
 */
export function dashboardsApi(served: {
  readonly rules: boolean;
  /** Absent: not served (the console's generated client, which has no shadow views, leaves them out). */
  readonly shadow?: boolean;
  readonly apiKeys: boolean;
}): ApiDocumentPart {
  const left = new Set([
    ...(served.rules ? [] : ['/v1/rules', '/v1/rules/active']),
    ...(served.rules && served.shadow === true ? [] : ['/v1/shadow', '/v1/shadow/promote', '/v1/shadow/report']),
    ...(served.apiKeys ? [] : ['/v1/api-keys', '/v1/api-keys/{id}', '/v1/api-keys/{id}/rotate']),
  ]);
  return { ...fullApi, paths: Object.fromEntries(Object.entries(fullApi.paths).filter(([path]) => !left.has(path))) };
}
