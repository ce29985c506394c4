/**
 * The JSON Schema (2020-12, OpenAPI 3.1's dialect) of SyncDecision (api.ts): the answer of `POST /v1/decisions`
 * (ingest) and `GET /v1/decisions/{id}` (dashboards), so both stages' OpenAPI parts name the one schema.
 */
export const syncDecisionSchema: Readonly<Record<string, unknown>> = {
  type: 'object',
  required: [
    'transactionId',
    'decision',
    'score',
    'risk',
    'reasons',
    'modelVersion',
    'rulesVersion',
    'decidedAt',
    'ledger',
  ],
  properties: {
    transactionId: { type: 'string' },
    decision: { enum: ['APPROVE', 'REVIEW', 'DECLINE'] },
    score: { type: 'number', minimum: 0, maximum: 1 },
    risk: { enum: ['low', 'elevated', 'high'] },
    reasons: {
      type: 'array',
      items: {
        type: 'object',
        required: ['code', 'source', 'description'],
        properties: { code: { type: 'string' }, source: { type: 'string' }, description: { type: 'string' } },
      },
    },
    modelVersion: { type: 'string' },
    rulesVersion: { type: 'string' },
    decidedAt: { type: 'string', format: 'date-time' },
    ledger: {
      type: 'object',
      required: ['status'],
      properties: { status: { enum: ['pending', 'posted', 'not_posted'] } },
    },
  },
};
