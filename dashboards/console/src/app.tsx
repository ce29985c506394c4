import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import type { LiveGapReason, LiveMessage, LiveStatsMessage } from '../../../schemas/api.js';
import { AlertBook, fromHistory, fromLive } from './alerts.js';
import { type Api, createApi, must } from './api/client.js';
import type { ConsoleContext } from './context.js';
import { timeOf } from './format.js';
import { type ConnectionState, LiveStream } from './live.js';
import {
  type ConsoleRole,
  type SignInConfig,
  checkRole,
  finishProviderSignIn,
  forgetToken,
  isProviderReturn,
  keeperFor,
  revokeRefreshToken,
  startProviderSignIn,
  storeToken,
  storedRole,
  storedToken,
} from './session.js';
import type { SignInEnd, TokenKeeper, Tokens } from './token-keeper.js';
import { routeOf, views } from './views/registry.js';

const MAX_ALERTS_SHOWN = 200;
const HISTORY_PAGE = 100;
/** Stats points kept for the time-series charts (one every statsIntervalMs). */
const STATS_POINTS = 120;

const GAP_REASONS: Record<LiveGapReason, string> = {
  'too-many-missed': 'more were missed than a reconnect replays',
  'unknown-event-id': 'the server did not know where this console left off',
  'replay-failed': 'the server could not read them back',
};

const SIGN_IN_ENDS: Record<SignInEnd, string> = {
  refused: 'the sign-in service no longer accepts this sign-in (it was revoked or has run out)',
  unreachable: 'the sign-in service could not be reached to renew it',
  expired: 'its key or token is no longer accepted (expired or revoked)',
};

let signIns = 0;

/** One sign-in: its tokens' keeper, the role it opens, and whether it came from the provider (or an API key). */
interface SignedIn {
  /** Tells one sign-in's console from the next one's. */
  readonly id: number;
  readonly keeper: TokenKeeper;
  readonly role: ConsoleRole;
  readonly viaProvider: boolean;
}

/** The sign-in page: the OpenID provider's button when there is one, and the API-key form. */
function SignIn({
  config,
  error,
  onKey,
  onError,
}: {
  config: SignInConfig | null;
  error: string;
  onKey: (key: string, role: ConsoleRole) => void;
  onError: (message: string) => void;
}) {
  const [key, setKey] = useState('');
  const submit = async (event: Event) => {
    event.preventDefault();
    const check = await checkRole(key.trim()).catch(() => 'unreachable' as const);
    if (check === 'analyst' || check === 'compliance') onKey(key.trim(), check);
    else if (check === 'other-role')
      onError('This key is not an analyst key. The console is for analysts and compliance officers.');
    else if (check === 'refused') onError('Key not accepted.');
    else onError('Vigil could not check the key just now; try again in a moment.');
  };
  return (
    <section id="login" class="login">
      {config !== null && (
        <div id="provider-sign-in-block">
          <h2>Sign in</h2>
          <p>Sign in with your user name and password at your organisation's sign-in page.</p>
          <button
            type="button"
            id="provider-sign-in"
            onClick={() =>
              void startProviderSignIn(config).catch((e: Error) => onError(`Sign-in failed: ${e.message}`))
            }
          >
            Sign in
          </button>
        </div>
      )}
      <form id="login-form" onSubmit={(e) => void submit(e)}>
        <h2>Or use an API key</h2>
        <p>
          Paste your analyst API key. It is kept only in this browser tab (sessionStorage) and sent as a bearer token.
        </p>
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          required
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
        />
        <button type="submit">Connect</button>
        <p id="login-error" class="error" role="alert">
          {error}
        </p>
      </form>
    </section>
  );
}

/** The header's figures: throughput, alert latency, alerts this session, and the stream's state. */
function Kpis({
  stats,
  alerts,
  connection,
}: {
  stats?: LiveStatsMessage;
  alerts: number;
  connection: ConnectionState;
}) {
  const connectionClass = connection === 'live' ? 'status-on' : connection === 'offline' ? 'status-off' : 'status-wait';
  return (
    <div class="kpis" aria-live="polite">
      <div class="kpi">
        <span class="kpi-label">Throughput</span>
        <span id="kpi-throughput" class="kpi-value">
          {stats === undefined ? '–' : `${stats.throughputPerSecond.toFixed(1)} tx/s`}
        </span>
      </div>
      <div class="kpi">
        <span class="kpi-label">Alert latency p95</span>
        <span id="kpi-latency" class="kpi-value">
          {stats?.alertLatencyMs.p95 == null ? '–' : `${stats.alertLatencyMs.p95} ms`}
        </span>
      </div>
      <div class="kpi">
        <span class="kpi-label">Alerts (session)</span>
        <span id="kpi-alerts" class="kpi-value">
          {alerts}
        </span>
      </div>
      <div class="kpi">
        <span class="kpi-label">Stream</span>
        <span id="kpi-connection" class={`kpi-value ${connectionClass}`}>
          {connection}
        </span>
      </div>
    </div>
  );
}

/**
 * Said over the console once the sign-in has ended without the person signing out. The console stays underneath, so
 * nothing typed is lost before they sign in again.
 */
function SignedOut({ why, onSignInAgain }: { why: SignInEnd; onSignInAgain: () => void }) {
  return (
    <div id="signed-out" class="notice signed-out" role="alert">
      <strong>Signed out — sign in again.</strong> The console could not keep you signed in: {SIGN_IN_ENDS[why]}. What
      you typed stays on this page until you sign in again.{' '}
      <button type="button" id="sign-in-again" onClick={onSignInAgain}>
        Sign in again
      </button>
    </div>
  );
}

/**
 * The signed-in console: the navigation and the view the location's hash names, for the role signed in; analysts
 * also get the live stream (the API serves it, and the alert history, to analysts only). A refreshed token reaches
 * the API client at its next call and the live stream by a resuming reconnect; once the sign-in has ended, the
 * stream stops and SignedOut says so.
 */
function Console({
  session,
  ended,
  signOut,
  signInAgain,
}: {
  session: SignedIn;
  ended: SignInEnd | undefined;
  signOut: (message?: string) => void;
  signInAgain: () => void;
}) {
  const { keeper, role } = session;
  const api: Api = useMemo(() => createApi(keeper), [keeper]);
  const alerts = useMemo(() => new AlertBook(MAX_ALERTS_SHOWN), []);
  const [connection, setConnection] = useState<ConnectionState>('offline');
  const [me, setMe] = useState<string | undefined>(undefined);
  const [stats, setStats] = useState<readonly LiveStatsMessage[]>([]);
  const [sessionAlerts, setSessionAlerts] = useState(0);
  const [lastCaseStep, setLastCaseStep] = useState<ConsoleContext['lastCaseStep']>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [streamNote, setStreamNote] = useState<string | undefined>(undefined);
  const [hash, setHash] = useState(location.hash);

  useEffect(() => {
    const onHash = () => setHash(location.hash);
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const loadHistory = useCallback(
    () =>
      alerts.reload(async () => {
        const page = await must(api.GET('/v1/alerts', { params: { query: { limit: HISTORY_PAGE } } }));
        return page.alerts.map(fromHistory);
      }),
    [alerts, api],
  );
  /** Loads the history on the analyst's behalf: a failure is shown in the notice, a success clears it. */
  const refreshHistory = useCallback(() => {
    loadHistory().then(
      () => setNotice(undefined),
      (error: Error) => setNotice(`Could not load alert history: ${error.message}`),
    );
  }, [loadHistory]);

  useEffect(() => {
    if (role !== 'analyst') return;
    refreshHistory();
    const onMessage = (message: LiveMessage) => {
      switch (message.type) {
        case 'hello':
          setMe(message.principal);
          break;
        case 'alert':
          setSessionAlerts((n) => n + 1);
          alerts.addLive(fromLive(message.alert));
          break;
        case 'caught-up': {
          const count = message.replayed === 1 ? '1 alert' : `${message.replayed} alerts`;
          const verb = message.replayed === 1 ? 'was' : 'were';
          setStreamNote(`Caught up: ${count} raised while disconnected ${verb} replayed (${timeOf(Date.now())}).`);
          break;
        }
        case 'gap': {
          // Alerts may have been missed (GET /v1/alerts lists the newest 100): said, and kept said after the reload.
          const what = `Alerts raised while this console was disconnected were not replayed (${GAP_REASONS[message.reason] ?? message.reason})`;
          setStreamNote(undefined);
          setNotice(`${what}; reloading the history…`);
          loadHistory().then(
            () => setNotice(`${what}; the list was reloaded from the alert history at ${timeOf(Date.now())}.`),
            (error: Error) =>
              setNotice(`${what}, and the history could not be loaded: ${error.message}. Use "Reload history".`),
          );
          break;
        }
        case 'dropped':
          setNotice(
            `${message.count} alerts were skipped while this connection was slow. Use "Reload history" to see them.`,
          );
          break;
        case 'stats':
          setStats((kept) => [...kept.slice(-(STATS_POINTS - 1)), message]);
          break;
        case 'case':
          setLastCaseStep((last) => ({ caseId: message.case.caseId, seq: (last?.seq ?? 0) + 1 }));
          break;
      }
    };
    const stream = new LiveStream(() => keeper.accessToken, {
      onMessage,
      onConnection: setConnection,
      stillSignedIn: async () => {
        const token = keeper.accessToken;
        const check = await checkRole(token).catch(() => 'unreachable' as const);
        return check !== 'refused' || (await keeper.renew(token)) !== undefined;
      },
    });
    const unsubscribe = [keeper.onRenewed(() => stream.renew()), keeper.onEnded(() => stream.close())];
    if (!keeper.ended) stream.open();
    return () => {
      for (const stop of unsubscribe) stop();
      stream.close();
    };
  }, [keeper, role, alerts, loadHistory, refreshHistory]);

  const ctx: ConsoleContext = {
    api,
    me,
    alerts,
    stats,
    lastCaseStep,
    navigate: (route) => (location.hash = `#/${route}`),
  };
  const { view, param } = routeOf(hash, role);
  return (
    <>
      <header class="topbar">
        <h1>
          Vigil <span class="subtitle">fraud console</span>
        </h1>
        <nav aria-label="Views">
          {views
            .filter((v) => v.title !== undefined && (v.roles ?? ['analyst']).includes(role))
            .map((v) => (
              <a key={v.route} href={`#/${v.route}`} aria-current={v === view ? 'page' : undefined}>
                {v.title}
              </a>
            ))}
        </nav>
        {role === 'analyst' && <Kpis stats={stats[stats.length - 1]} alerts={sessionAlerts} connection={connection} />}
        <span class="meta" id="signed-in-as">
          {me === undefined ? '' : me.replace(/^user:/, '')}
        </span>
        <button id="sign-out" class="ghost" type="button" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main id="console" class="console">
        {ended !== undefined && <SignedOut why={ended} onSignInAgain={signInAgain} />}
        <p id="notice" class="notice" role="status" hidden={notice === undefined}>
          {notice}
        </p>
        <p id="stream-note" class="muted small" role="status" hidden={streamNote === undefined}>
          {streamNote}
        </p>
        {view.render({ ctx, param, reloadHistory: refreshHistory })}
      </main>
    </>
  );
}

/**
 * The page: the sign-in until someone is signed in, then the console. The access token (or key) is kept in this tab's
 * sessionStorage and follows each refresh; the refresh token stays in the keeper, in memory.
 */
export function App({ signInConfig }: { signInConfig: SignInConfig | null }) {
  const [session, setSession] = useState<SignedIn | null>(null);
  const [ended, setEnded] = useState<SignInEnd | undefined>(undefined);
  const [error, setError] = useState('');
  const [started, setStarted] = useState(false);

  const signIn = useCallback(
    (tokens: Tokens, role: ConsoleRole, viaProvider: boolean) => {
      storeToken(tokens.accessToken, role);
      const keeper = keeperFor(signInConfig, tokens);
      keeper.onRenewed((accessToken) => storeToken(accessToken, role));
      keeper.onEnded((why) => {
        forgetToken();
        setEnded(why);
      });
      keeper.start();
      setError('');
      setEnded(undefined);
      setSession({ id: ++signIns, keeper, role, viaProvider });
    },
    [signInConfig],
  );
  const signInWithKey = useCallback(
    (key: string, role: ConsoleRole) => signIn({ accessToken: key, receivedAtMs: Date.now() }, role, false),
    [signIn],
  );
  const signOut = useCallback(
    (message?: string) => {
      if (session !== null) {
        session.keeper.stop();
        const { refreshToken } = session.keeper;
        if (signInConfig !== null && refreshToken !== undefined) void revokeRefreshToken(signInConfig, refreshToken);
      }
      forgetToken();
      setSession(null);
      setEnded(undefined);
      setError(message ?? '');
    },
    [session, signInConfig],
  );
  const signInAgain = useCallback(() => {
    if (signInConfig !== null && session?.viaProvider === true)
      void startProviderSignIn(signInConfig).catch((e: Error) => signOut(`Sign-in failed: ${e.message}`));
    else signOut('Your sign-in has ended. Sign in again.');
  }, [session, signInConfig, signOut]);

  useEffect(() => {
    const params = new URLSearchParams(location.search);
    if (signInConfig !== null && isProviderReturn(params)) {
      forgetToken();
      finishProviderSignIn(signInConfig, params).then(
        ({ tokens, role }) => signIn(tokens, role, true),
        (e: Error) => setError(`Sign-in failed: ${e.message}`),
      );
    } else {
      const stored = storedToken();
      // A reload keeps the access token but not the refresh token (memory only): this sign-in ends when it expires.
      if (stored !== null) signIn({ accessToken: stored, receivedAtMs: Date.now() }, storedRole(), false);
    }
    setStarted(true);
  }, [signInConfig, signIn]);

  if (!started) return null;
  if (session === null)
    return (
      <>
        <header class="topbar">
          <h1>
            Vigil <span class="subtitle">fraud console</span>
          </h1>
        </header>
        <SignIn config={signInConfig} error={error} onKey={signInWithKey} onError={setError} />
      </>
    );
  return <Console key={session.id} session={session} ended={ended} signOut={signOut} signInAgain={signInAgain} />;
}
