/**
 * Account ids the ledger keeps for itself, shared by ingest (which refuses them at the door) and ledger-sink (which
 * names its own accounts with them, and refuses to post a transaction naming one).
 */

/** Prefix of the bank's FX position accounts (`fx:EUR`); reserved. */
export const FX_ACCOUNT_PREFIX = 'fx:';

/** Every reserved prefix. Case-sensitive, as account ids are compared exactly everywhere else. */
export const RESERVED_ACCOUNT_PREFIXES: readonly string[] = [FX_ACCOUNT_PREFIX];

/** The reserved prefix `accountId` starts with; undefined for an id a client may use. */
export function reservedAccountPrefix(accountId: string): string | undefined {
  return RESERVED_ACCOUNT_PREFIXES.find((prefix) => accountId.startsWith(prefix));
}
