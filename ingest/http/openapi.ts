import { Role } from '../../platform/auth.js';
import {
  type ApiDocumentPart,
  GUARDED,
  type JsonSchema,
  type OperationObject,
  jsonBody,
  jsonResponse,
  PUBLIC,
  problems,
  ref,
  rolesMayCall,
} from '../../platform/openapi.js';
import { DECISION_DEADLINE_BOUNDS } from '../config.js';
import { csvColumns } from '../domain/channels/csv/csv.js';
import { syncDecisionSchema } from '../../schemas/api-schemas.js';

/**
 * The OpenAPI description of ingest's routes (http/routes.ts), merged into `/openapi.json` by startHttpServer.
 * A route added to the router is documented here, once; the document's test fails until it is.
 */

const id = { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,128}$' } as const;

const transactionRequest: JsonSchema = {
  type: 'object',
  description:
    'What a bank’s systems send. Amounts are decimal strings, never JSON numbers. A raw card `number` is tokenised ' +
    'on arrival and never stored; a `cvv`/`cvc` field is refused outright.',
  required: ['transactionId', 'channel', 'amount', 'payer', 'payee'],
  properties: {
    transactionId: { ...id, description: 'The client’s unique id: the idempotency key.' },
    channel: { enum: ['card', 'ach', 'sepa', 'wire', 'wallet', 'p2p', 'cash'] },
    kind: {
      enum: ['purchase', 'authorization', 'capture', 'refund', 'transfer', 'withdrawal', 'deposit'],
      description: 'Defaults from the channel: card → purchase, cash → withdrawal, others → transfer.',
    },
    amount: ref('Money'),
    settlementAmount: { ...ref('Money'), description: 'The amount in the payer account’s currency (FX).' },
    payer: {
      type: 'object',
      required: ['accountId'],
      properties: { accountId: id, customerId: id },
    },
    payee: { type: 'object', required: ['accountId'], properties: { accountId: id } },
    card: {
      type: 'object',
      properties: {
        number: { type: 'string', pattern: '^[0-9]{12,19}$' },
        token: { type: 'string' },
        bin: { type: 'string', pattern: '^[0-9]{6}$' },
        last4: { type: 'string', pattern: '^[0-9]{4}$' },
        present: { type: 'boolean' },
      },
    },
    merchant: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        terminalId: { type: 'string' },
        mcc: { type: 'string', pattern: '^[0-9]{4}$' },
      },
    },
    device: { type: 'object', properties: { id: { type: 'string' }, ip: { type: 'string' } } },
    location: {
      type: 'object',
      properties: {
        country: { type: 'string', pattern: '^[A-Z]{2}$' },
        latitude: { type: 'number', minimum: -90, maximum: 90 },
        longitude: { type: 'number', minimum: -180, maximum: 180 },
      },
    },
    description: { type: 'string' },
    bankTransfer: {
      type: 'object',
      required: ['scheme'],
      properties: {
        scheme: { type: 'string', pattern: '^[A-Z0-9_]{2,32}$' },
        endToEndId: { type: 'string' },
        remittanceInfo: { type: 'string' },
      },
    },
    channelReference: { type: 'string' },
    originalTransactionId: { ...id, description: 'A capture’s authorisation, or a refund’s payment.' },
    eventTime: { type: 'string', format: 'date-time', description: 'Defaults to the time ingest received it.' },
  },
};

const problemList = {
  type: 'array',
  items: {
    type: 'object',
    required: ['path', 'message'],
    properties: { path: { type: 'string' }, message: { type: 'string' } },
  },
} as const;

const ingestResult: JsonSchema = {
  type: 'object',
  required: ['transactionId', 'status'],
  properties: {
    transactionId: { type: ['string', 'null'] },
    status: { enum: ['accepted', 'duplicate', 'rejected', 'conflict'] },
    partition: { type: 'integer', minimum: 0 },
    offset: { type: 'integer', minimum: 0 },
    problems: problemList,
  },
};

const summary = {
  type: 'object',
  required: ['accepted', 'duplicate', 'rejected', 'conflict'],
  properties: Object.fromEntries(
    ['accepted', 'duplicate', 'rejected', 'conflict'].map((s) => [s, { type: 'integer', minimum: 0 }]),
  ),
} as const;

const channelFileResponse: JsonSchema = {
  type: 'object',
  required: ['file', 'results', 'summary'],
  properties: {
    file: {
      type: 'object',
      required: ['format', 'messageId', 'sha256', 'status'],
      properties: {
        format: { type: 'string' },
        messageId: { type: 'string' },
        sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        status: { enum: ['new', 'duplicate'] },
      },
    },
    results: {
      type: 'array',
      items: {
        allOf: [
          ref('IngestResult'),
          {
            type: 'object',
            required: ['location', 'references'],
            properties: {
              location: { type: 'string', description: 'Element path, record number or line of the item.' },
              references: { type: 'object', additionalProperties: { type: 'string' } },
            },
          },
        ],
      },
    },
    summary,
  },
};

/** The example requests: their ids are the document test's too, so the reads after them find what they sent. */
const exampleTransaction = {
  transactionId: 'tx-example-0001',
  channel: 'card',
  amount: { value: '42.50', currency: 'EUR' },
  payer: { accountId: 'acct-example-payer', customerId: 'cust-example-0001' },
  payee: { accountId: 'acct-example-shop' },
  card: { number: '4111111111111111', present: true },
  merchant: { id: 'merchant-example', terminalId: 'term-example', mcc: '5411' },
  location: { country: 'FR', latitude: 48.85, longitude: 2.35 },
};

const examplePain001 = `<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09">
  <CstmrCdtTrfInitn>
    <GrpHdr>
      <MsgId>PAIN-EXAMPLE-0001</MsgId>
      <CreDtTm>2026-12-07T09:00:00Z</CreDtTm>
      <NbOfTxs>1</NbOfTxs>
      <InitgPty><Nm>Debtor Ltd</Nm></InitgPty>
    </GrpHdr>
    <PmtInf>
      <PmtInfId>PMT-EXAMPLE-0001</PmtInfId>
      <PmtMtd>TRF</PmtMtd>
      <PmtTpInf><SvcLvl><Cd>SEPA</Cd></SvcLvl></PmtTpInf>
      <ReqdExctnDt><Dt>2026-12-08</Dt></ReqdExctnDt>
      <Dbtr><Nm>Debtor Ltd</Nm></Dbtr>
      <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
      <DbtrAgt><FinInstnId><BICFI>COBADEFFXXX</BICFI></FinInstnId></DbtrAgt>
      <ChrgBr>SLEV</ChrgBr>
      <CdtTrfTxInf>
        <PmtId><InstrId>INSTR-0001</InstrId><EndToEndId>E2E-0001</EndToEndId></PmtId>
        <Amt><InstdAmt Ccy="EUR">1250.00</InstdAmt></Amt>
        <CdtrAgt><FinInstnId><BICFI>BNPAFRPPXXX</BICFI></FinInstnId></CdtrAgt>
        <Cdtr><Nm>Creditor SA</Nm></Cdtr>
        <CdtrAcct><Id><IBAN>FR1420041010050500013M02606</IBAN></Id></CdtrAcct>
        <RmtInf><Ustrd>Invoice 2026-0042</Ustrd></RmtInf>
      </CdtTrfTxInf>
    </PmtInf>
  </CstmrCdtTrfInitn>
</Document>
`;

const exampleCsv =
  'transaction_id,channel,amount,currency,payer_account,payee_account,scheme\n' +
  'csv-example-0001,sepa,310.00,EUR,acct-example-payer,acct-example-landlord,SEPA\n';

/** One PPD credit of $1,234.56, with its batch and file controls; padded with nines to a block of ten records. */
const exampleNacha = [
  '101 091000019 1210428822612070900A094101WELLS FARGO            VIGIL TEST BANK                ',
  '5220ACME PAYROLL                        1234567890PPDPAYROLL         261207   1121042880000001',
  '622091000019123456789        0000123456ID1            JANE DOE                0121042880000001',
  '822000000100091000010000000000000000001234561234567890                         121042880000001',
  '9000001000001000000010009100001000000000000000000123456                                       ',
  ...Array.from({ length: 5 }, () => '9'.repeat(94)),
]
  .map((record) => `${record}\n`)
  .join('');

/** A Stripe `charge.succeeded` event (the fields the channel reads); signed by Stripe, so the header comes with it. */
const exampleStripeEvent = {
  id: 'evt_example_0001',
  object: 'event',
  api_version: '2025-10-29.clover',
  created: 1_796_634_000,
  type: 'charge.succeeded',
  livemode: false,
  pending_webhooks: 1,
  data: {
    object: {
      id: 'ch_example_0001',
      object: 'charge',
      amount: 2599,
      amount_captured: 2599,
      amount_refunded: 0,
      captured: true,
      currency: 'usd',
      customer: 'cus_example_0001',
      created: 1_796_634_000,
      payment_method: 'pm_example_0001',
      payment_method_details: {
        type: 'card',
        card: { brand: 'visa', country: 'US', fingerprint: 'Xt5EWLLDS7FJjR1c', iin: '424242', last4: '4242' },
      },
      status: 'succeeded',
    },
  },
};

/**
 * An Adyen standard notification of one successful authorisation. Its `hmacSignature` is Adyen's HMAC-SHA256 of the
 * item's fields under the webhook's key, which only Adyen and the bank hold, so the example carries none.
 */
const exampleAdyenNotification = {
  live: 'false',
  notificationItems: [
    {
      NotificationRequestItem: {
        additionalData: { shopperReference: 'shopper-example-0001' },
        amount: { currency: 'EUR', value: 2599 },
        eventCode: 'AUTHORISATION',
        eventDate: '2026-12-07T09:00:00+01:00',
        merchantAccountCode: 'ExampleMerchant',
        merchantReference: 'order-example-0001',
        paymentMethod: 'visa',
        pspReference: 'EXAMPLEPSP0000001',
        reason: '',
        success: 'true',
      },
    },
  ],
};

/** The scheme Adyen's webhook authenticates with: the user and password set on the webhook in Adyen's Customer Area. */
const ADYEN_SCHEME = 'adyenWebhookBasic';

const ingestFeed = rolesMayCall(Role.ingest);

const channelFile = (
  operationId: string,
  summaryText: string,
  description: string,
  mediaType: string,
  example: string,
  extra: Partial<OperationObject> = {},
): OperationObject => ({
  operationId,
  summary: summaryText,
  description:
    `${description} The route, not the Content-Type, says what the file is. 200 for every readable file: each item ` +
    'accepted, duplicate, rejected (with its location) or conflict on its own; a file sent again is a duplicate. ' +
    'The file is checked whole before any item is taken (400 names what is wrong, nothing taken), then ingested ' +
    'a slice at a time with the 200 streamed as each slice is durable; a 200 whose body ends before `summary` ' +
    'failed part-way: send the file again, and what was taken comes back `duplicate`.',
  tags: ['ingest'],
  security: ingestFeed,
  requestBody: { required: true, content: { [mediaType]: { schema: { type: 'string' }, example } } },
  responses: {
    '200': jsonResponse('Per-item results, in file order', ref('ChannelFileResponse')),
    ...problems(400, 409, 413, ...GUARDED),
  },
  ...extra,
});

export const ingestApi: ApiDocumentPart = {
  tags: { ingest: 'Transactions in: the JSON API, batches, the synchronous decision and channel files.' },
  securitySchemes: {
    [ADYEN_SCHEME]: {
      type: 'http',
      scheme: 'basic',
      description: 'The credentials set on the Adyen webhook (VIGIL_ADYEN_WEBHOOK_USERNAME / _PASSWORD).',
    },
  },
  schemas: {
    TransactionRequest: transactionRequest,
    IngestResult: ingestResult,
    SyncDecision: syncDecisionSchema,
    ChannelFileResponse: channelFileResponse,
  },
  paths: {
    '/v1/transactions': {
      post: {
        operationId: 'submitTransaction',
        summary: 'Submit one transaction',
        description:
          '202 once the record is durable on tx.raw; 200 with the original result for a retry (same id, same ' +
          'content); 409 TRANSACTION_ID_CONFLICT for the same id with other content; 400 VALIDATION_FAILED with every problem.',
        tags: ['ingest'],
        security: ingestFeed,
        requestBody: jsonBody(ref('TransactionRequest'), exampleTransaction),
        responses: {
          '202': jsonResponse('Accepted: durable on the log', ref('IngestResult')),
          '200': jsonResponse('A retry: the original result, status duplicate', ref('IngestResult')),
          ...problems(400, 409, 413, ...GUARDED),
        },
      },
    },
    '/v1/transactions/batch': {
      post: {
        operationId: 'submitTransactionBatch',
        summary: 'Submit a batch: a JSON array, or NDJSON (`application/x-ndjson`)',
        description:
          '200 whenever the batch itself was readable: each item is accepted, duplicate, rejected or conflict on its own.',
        tags: ['ingest'],
        security: ingestFeed,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { type: 'array', minItems: 1, items: ref('TransactionRequest') },
              example: [
                {
                  ...exampleTransaction,
                  transactionId: 'tx-example-0002',
                  amount: { value: '18.00', currency: 'EUR' },
                },
                // A card from a BIN on the shipped rules' deny list: declined whatever the model scores, so the
                // alert list has an example too and the case examples a case to act on (it opens or joins one).
                {
                  ...exampleTransaction,
                  transactionId: 'tx-example-0004',
                  amount: { value: '120.00', currency: 'EUR' },
                  card: { number: '5105105105105100', present: false },
                },
              ],
            },
            'application/x-ndjson': { schema: { type: 'string', description: 'One TransactionRequest per line.' } },
          },
        },
        responses: {
          '200': jsonResponse('One result per item, in order', {
            type: 'object',
            required: ['results', 'summary'],
            properties: { results: { type: 'array', items: ref('IngestResult') }, summary },
          }),
          ...problems(400, 413, ...GUARDED),
        },
      },
    },
    '/v1/decisions': {
      post: {
        operationId: 'decideTransaction',
        summary: 'Submit one transaction and wait for its decision',
        description:
          'The body of `POST /v1/transactions`, answered synchronously: 200 with the decision once scored, or 202 with ' +
          '`Location` at the deadline (the transaction is durable and will be decided; never an approval).',
        tags: ['ingest'],
        security: ingestFeed,
        parameters: [
          {
            name: 'Vigil-Decision-Deadline-Ms',
            in: 'header',
            description: 'How long to wait for the decision; the configured default when absent.',
            schema: { type: 'integer', minimum: DECISION_DEADLINE_BOUNDS.min, maximum: DECISION_DEADLINE_BOUNDS.max },
            example: 10_000,
          },
        ],
        requestBody: jsonBody(ref('TransactionRequest'), {
          ...exampleTransaction,
          transactionId: 'tx-example-0003',
          amount: { value: '9.90', currency: 'EUR' },
        }),
        responses: {
          '200': jsonResponse('Decided', ref('SyncDecision')),
          '202': jsonResponse(
            'The deadline passed first',
            {
              type: 'object',
              required: ['transactionId', 'status', 'decisionUrl'],
              properties: {
                transactionId: { type: 'string' },
                status: { const: 'pending' },
                decisionUrl: { type: 'string' },
              },
            },
            { headers: { Location: { description: 'Where the decision will be', schema: { type: 'string' } } } },
          ),
          ...problems(400, 409, 413, ...GUARDED),
        },
      },
    },
    '/v1/channels/iso20022': {
      post: channelFile(
        'submitIso20022File',
        'Submit an ISO 20022 file',
        'pain.001.001.09, pacs.008.001.08, camt.054.001.08 or pacs.004.001.09, known by its namespace; items keep ' +
          'their MsgId, PmtInfId, InstrId, EndToEndId, UETR and TxId. No DOCTYPE or entities.',
        'application/xml',
        examplePain001,
      ),
    },
    '/v1/channels/nacha': {
      post: channelFile(
        'submitNachaFile',
        'Submit a NACHA ACH file',
        'File header, batch headers (PPD and CCD are ingested), entries with addenda, batch and file controls; ' +
          'record lengths, the entry hash and the totals are checked, and a broken file is refused with its record ' +
          'numbers. A return (addenda type 99) names its original by trace number and reverses it.',
        'text/plain',
        exampleNacha,
      ),
    },
    '/v1/channels/stripe': {
      post: {
        operationId: 'receiveStripeEvent',
        summary: 'Receive a Stripe webhook event',
        description:
          'Authenticated by Stripe’s signature over the raw body (no API key): charge.succeeded, charge.captured, ' +
          'charge.refunded and charge.dispute.created (a fraud dispute labels the payment fraud, which reverses ' +
          'it). Answered once the event is durable; an event delivered again is a duplicate. 503 when no webhook ' +
          'secret is configured, so Stripe keeps retrying.',
        tags: ['ingest'],
        security: PUBLIC,
        parameters: [
          {
            name: 'Stripe-Signature',
            in: 'header',
            required: true,
            description: '`t=<unix seconds>,v1=<HMAC-SHA256 of "t.body">`, as Stripe computes it.',
            schema: { type: 'string' },
          },
        ],
        requestBody: jsonBody({ type: 'object', required: ['id', 'type', 'data'] }, exampleStripeEvent),
        responses: {
          '200': jsonResponse('Received: the items the event made, each with its outcome', ref('ChannelFileResponse')),
          ...problems(400, 413, 503),
        },
      },
    },
    '/v1/channels/adyen': {
      post: {
        operationId: 'receiveAdyenNotification',
        summary: 'Receive an Adyen notification',
        description:
          'Authenticated by the webhook’s basic-auth credentials and each item’s `additionalData.hmacSignature`, ' +
          'checked with Adyen’s own validator under the webhook’s HMAC key (no API key): AUTHORISATION, CAPTURE, ' +
          'REFUND, and CHARGEBACK / NOTIFICATION_OF_CHARGEBACK (which label the payment fraud and reverse it); an ' +
          'unsuccessful or other event makes no item. `[accepted]` once every item is durable; an item delivered ' +
          'again (same pspReference, eventCode and success) is a duplicate. One bad signature refuses the whole ' +
          'notification. 503 when no HMAC key is configured, so Adyen keeps retrying.',
        tags: ['ingest'],
        security: [{ [ADYEN_SCHEME]: [] }],
        requestBody: jsonBody(
          { type: 'object', required: ['notificationItems'], properties: { notificationItems: { type: 'array' } } },
          exampleAdyenNotification,
        ),
        responses: {
          '200': {
            description: 'Every item taken (or known already)',
            content: { 'text/plain': { schema: { const: '[accepted]' } } },
          },
          ...problems(400, 401, 413, 503),
        },
      },
    },
    '/v1/channels/csv': {
      post: channelFile(
        'submitCsvFile',
        'Submit a CSV upload',
        `One header row naming the columns (${Object.keys(csvColumns).join(', ')}; the first six are required), ` +
          'then one transaction per row; amounts as decimal strings.',
        'text/csv',
        exampleCsv,
        {
          parameters: [
            {
              name: 'columns',
              in: 'query',
              description: 'Another layout: `column=header` pairs, e.g. `amount=Betrag,currency=Waehrung`.',
              schema: { type: 'string' },
            },
            {
              name: 'Vigil-File-Id',
              in: 'header',
              description: 'The sender’s id for the file; absent, the file is known by its content alone.',
              schema: { type: 'string' },
              example: 'upload-example-0001',
            },
          ],
        },
      ),
    },
  },
};
