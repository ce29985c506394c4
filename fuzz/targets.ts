import { amountTargets } from './amount.js';
import { bodyTargets } from './body.js';
import { canonicalJsonTargets } from './canonical-json.js';
import { codecTargets } from './codec.js';
import { csvTargets } from './csv.js';
import { fundsPolicyTargets } from './funds-policy.js';
import { iso20022Targets } from './iso20022.js';
import { journalTargets } from './journal.js';
import { ledgerLifecycleTargets } from './ledger-lifecycle.js';
import { nachaTargets } from './nacha.js';
import { gatewayTargets } from './gateways.js';
import type { FuzzTarget } from './target.js';
import { validationTargets } from './validation.js';

/** Every fuzz target that must hold; `npm run fuzz` runs them all, the `*.property.test.ts` files each run theirs. */
export const targets: readonly FuzzTarget[] = [
  ...validationTargets,
  ...amountTargets,
  ...codecTargets,
  ...journalTargets,
  ...bodyTargets,
  ...canonicalJsonTargets,
  ...ledgerLifecycleTargets,
  ...fundsPolicyTargets,
  ...iso20022Targets,
  ...csvTargets,
  ...nachaTargets,
  ...gatewayTargets,
];

export { pendingTargets } from './pending.js';
