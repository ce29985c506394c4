import { FundsGuard } from '../domain/funds.js';

/**
 * Plants the fault the balance-policy tests must catch: `FundsGuard.reserve` does nothing, so a debit let through
 * is never counted in flight and two concurrent debits can both spend the same money. It patches the prototype, so
 * it reaches every guard of this process — the embedded pipeline's, or a scoring service's when loaded through
 * `no-op-reserve.preload.ts`. Returns the undo.
 */
export function plantNoOpReserve(): () => void {
  const reserve = Object.getOwnPropertyDescriptor(FundsGuard.prototype, 'reserve')!;
  Object.defineProperty(FundsGuard.prototype, 'reserve', { ...reserve, value: () => undefined });
  return () => Object.defineProperty(FundsGuard.prototype, 'reserve', reserve);
}
