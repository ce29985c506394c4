import type { ViewDefinition } from '../registry.js';
import { AccessLogView } from './access-log-view.js';
import { AccountsView } from './accounts-view.js';
import { AuditSearchView } from './audit-search-view.js';
import { AuditTrailView } from './audit-trail-view.js';
import { LargeCashView } from './large-cash-view.js';
import { TrialBalanceView } from './trial-balance-view.js';

/** Where a compliance officer lands. */
export const COMPLIANCE_DEFAULT_ROUTE = 'audit';

/** The compliance views: shown to the compliance role only, the one role every API call here allows. */
export const complianceViews: readonly ViewDefinition[] = [
  { route: 'audit', title: 'Audit search', roles: ['compliance'], render: ({ ctx }) => <AuditSearchView ctx={ctx} /> },
  {
    route: 'audit-trail',
    title: undefined,
    roles: ['compliance'],
    render: ({ ctx, param }) =>
      param === undefined ? (
        <AuditSearchView ctx={ctx} />
      ) : (
        <AuditTrailView key={param} ctx={ctx} transactionId={param} />
      ),
  },
  {
    route: 'accounts',
    title: 'Accounts',
    roles: ['compliance'],
    render: ({ ctx, param }) => <AccountsView key={param ?? ''} ctx={ctx} accountId={param} />,
  },
  {
    route: 'trial-balance',
    title: 'Trial balance',
    roles: ['compliance'],
    render: ({ ctx }) => <TrialBalanceView ctx={ctx} />,
  },
  { route: 'access', title: 'Access log', roles: ['compliance'], render: ({ ctx }) => <AccessLogView ctx={ctx} /> },
  {
    route: 'large-cash',
    title: 'Cash report',
    roles: ['compliance'],
    render: ({ ctx }) => <LargeCashView ctx={ctx} />,
  },
];
