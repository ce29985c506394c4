import type { ApiKeyView } from '../../schemas/api.js';
import type { ApiKey } from '../../schemas/generated/types.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A managed key as `GET /v1/api-keys` shows it at `nowMs`: everything but the digest, and whether it works now. */
export function managedKeyViewOf(record: ApiKey, nowMs: number): ApiKeyView {
  const revoked = record.revokedAtMs !== null && nowMs >= record.revokedAtMs;
  const expired = record.expiresAtMs !== null && nowMs >= record.expiresAtMs;
  return {
    keyId: record.keyId,
    role: record.role,
    name: record.name,
    principalId: record.principalId,
    status: revoked ? 'revoked' : expired ? 'expired' : 'active',
    createdBy: record.createdBy,
    createdAt: new Date(record.createdAtMs).toISOString(),
    expiresAt: iso(record.expiresAtMs),
    rotatedTo: record.rotatedTo,
    revokedAt: iso(record.revokedAtMs),
    revokedBy: record.revokedBy,
  };
}
