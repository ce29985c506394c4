import type { VNode } from 'preact';
import type { ConsoleContext } from '../context.js';
import type { ConsoleRole } from '../session.js';
import { AlertsView } from './alerts-view.js';
import { CaseDetailView } from './case-view.js';
import { ChartsView } from './charts-view.js';
import { COMPLIANCE_DEFAULT_ROUTE, complianceViews } from './compliance/views.js';
import { QueueView } from './queue-view.js';

/** What a view needs beyond the context: the route's parameter (`#/cases/<id>` → the id) and the console's actions. */
export interface ViewProps {
  readonly ctx: ConsoleContext;
  readonly param: string | undefined;
  readonly reloadHistory: () => void;
}

/**
 * A view of the console: its route (`#/<route>[/<param>]`), and its title in the navigation (none: reached only by a
 * link, like a case). Adding a view is one entry here.
 */
export interface ViewDefinition {
  readonly route: string;
  readonly title: string | undefined;
  /** Who sees it (the roles its API calls allow); analysts when absent. */
  readonly roles?: readonly ConsoleRole[];
  readonly render: (props: ViewProps) => VNode;
}

export const views: readonly ViewDefinition[] = [
  { route: 'queue', title: 'Case queue', render: ({ ctx }) => <QueueView ctx={ctx} /> },
  {
    route: 'alerts',
    title: 'Live alerts',
    render: ({ ctx, reloadHistory }) => <AlertsView ctx={ctx} reloadHistory={reloadHistory} />,
  },
  { route: 'charts', title: 'Charts', render: ({ ctx }) => <ChartsView ctx={ctx} /> },
  ...complianceViews,
  {
    route: 'cases',
    title: undefined,
    render: ({ ctx, param }) =>
      param === undefined ? <QueueView ctx={ctx} /> : <CaseDetailView key={param} ctx={ctx} caseId={param} />,
  },
];

export const DEFAULT_ROUTE = 'queue';
const DEFAULT_ROUTES: Record<ConsoleRole, string> = { analyst: DEFAULT_ROUTE, compliance: COMPLIANCE_DEFAULT_ROUTE };

/**
 * `#/cases/case-12` → the cases view with `case-12`; anything unknown, or not the role's → the role's default view.
 */
export function routeOf(
  hash: string,
  role: ConsoleRole = 'analyst',
): { readonly view: ViewDefinition; readonly param: string | undefined } {
  const [route, ...rest] = hash.replace(/^#\/?/, '').split('/');
  const view =
    views.find((v) => v.route === route && (v.roles ?? ['analyst']).includes(role)) ??
    views.find((v) => v.route === DEFAULT_ROUTES[role])!;
  const param = rest.length === 0 ? undefined : decodeURIComponent(rest.join('/'));
  return { view, param };
}
