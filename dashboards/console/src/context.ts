import type { LiveStatsMessage } from '../../../schemas/api.js';
import type { AlertBook } from './alerts.js';
import type { Api } from './api/client.js';

/** What every view of the signed-in console gets: the API, the live feeds' state, and a way to move. */
export interface ConsoleContext {
  readonly api: Api;
  /** The signed-in principal (`user:<name>` or an API key's id), once the live stream said hello. */
  readonly me: string | undefined;
  readonly alerts: AlertBook;
  /** The live stats received so far, oldest first (at most a chart's width). */
  readonly stats: readonly LiveStatsMessage[];
  /** The last case step pushed live (a view showing that case reloads it); undefined before any. */
  readonly lastCaseStep: { readonly caseId: string; readonly seq: number } | undefined;
  readonly navigate: (route: string) => void;
}
