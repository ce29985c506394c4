// Vigil live console. No build step, no libraries: plain ES modules, DOM and inline SVG.
// People sign in at the OpenID provider named by /assets/sign-in.json: authorization code flow with PKCE (RFC 7636),
// the code verifier and state kept in sessionStorage across the redirect; the access token then serves exactly as
// an API key would. An API key can still be pasted instead.
// The key or token lives in sessionStorage (this tab only). REST calls send it as `Authorization: Bearer`;
// the WebSocket carries it as the subprotocol `bearer.<key>` next to `vigil.v1`, since browsers cannot
// set headers on a WebSocket.

const KEY_STORAGE = 'vigil.apiKey';
const MAX_ALERTS_SHOWN = 200;
const MAX_CASES_SHOWN = 10;
// Case steps arrive in bursts (every alert is one): the list is reloaded at most this often.
const CASES_RELOAD_MS = 2000;
const THROUGHPUT_POINTS = 120;
const SVG_NS = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);
const state = {
  key: sessionStorage.getItem(KEY_STORAGE),
  ws: undefined,
  retryMs: 1000,
  // The stream position after the last message that carried one (hello, alert, caught-up, gap): presented as
  // ?lastEventId= on reconnect, so alerts raised while the connection was down are replayed, not lost.
  lastEventId: undefined,
  alertIds: new Set(),
  // One array per history load in flight: the live alerts that arrived meanwhile, put back after the redraw.
  historyLoads: new Set(),
  sessionAlerts: 0,
  throughput: [],
  // Set while a case list reload is scheduled.
  casesTimer: undefined,
};

// ---- money: decimal strings from minor units, by ISO 4217 exponent, with string arithmetic (no floats) ----
// The exponents come from the server's one ISO 4217 table (schemas/currencies.ts), never a copy here. If it
// cannot be loaded, or a code is not in it, amounts are shown as exact minor units rather than guessed.
const EXPONENTS = await fetch('/assets/currencies.json')
  .then((response) => (response.ok ? response.json() : undefined))
  .catch(() => undefined);
function formatMinor(amountMinor, currency) {
  const exponent = EXPONENTS?.[currency];
  const text = String(amountMinor);
  if (!Number.isInteger(exponent)) return `${text} minor units ${currency}`;
  const negative = text.startsWith('-');
  const digits = (negative ? text.slice(1) : text).padStart(exponent + 1, '0');
  const whole = exponent === 0 ? digits : digits.slice(0, -exponent);
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}${grouped}${exponent === 0 ? '' : '.' + digits.slice(-exponent)} ${currency}`;
}

// ---- DOM helpers: text only through textContent, never innerHTML ----
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
function svg(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}
const timeOf = (ms) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

// ---- REST ----
async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${state.key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const payload = response.status === 204 ? undefined : await response.json().catch(() => undefined);
  if (response.status === 401) signOut('Your sign-in was not accepted or has expired. Sign in again.');
  if (!response.ok) {
    const problems = payload?.problems?.map((p) => `${p.path}: ${p.message}`).join('; ');
    throw new Error(payload ? `${payload.detail}${problems ? ` (${problems})` : ''}` : `HTTP ${response.status}`);
  }
  return payload;
}

// ---- alerts ----
/** Normalises a live FraudAlert and a GET /v1/alerts row into one shape. */
function fromLive(alert) {
  return {
    transactionId: alert.transactionId,
    decision: alert.decision,
    score: alert.score,
    reasons: alert.reasons,
    channel: alert.channel,
    amountText: formatMinor(alert.amountMinor, alert.currency),
    payer: alert.payerAccountId,
    card: alert.cardLast4,
    country: alert.country,
    atMs: alert.raisedAtMs,
    label: null,
  };
}
function fromHistory(row) {
  return {
    transactionId: row.transactionId,
    decision: row.decision,
    score: row.score,
    reasons: row.reasons,
    channel: row.channel,
    amountText: formatMinor(row.amount.amountMinor, row.amount.currency),
    payer: row.payerAccountId,
    card: row.cardLast4,
    country: row.country,
    atMs: Date.parse(row.scoredAt),
    label: row.label,
  };
}

function renderAlert(alert, fresh) {
  const item = el('li', `alert ${alert.decision === 'DECLINE' ? 'decline' : 'review'}${fresh ? ' fresh' : ''}`);
  item.dataset.decision = alert.decision;
  item.dataset.transactionId = alert.transactionId;
  const head = el('div', 'alert-head');
  head.append(
    el('span', `badge ${alert.decision === 'DECLINE' ? 'decline' : ''}`, alert.decision),
    el('span', 'amount', alert.amountText),
    el('span', 'score', `score ${Number(alert.score).toFixed(2)}`),
    el(
      'span',
      'meta',
      [alert.channel, alert.card ? `•••• ${alert.card}` : null, alert.country, `payer ${alert.payer}`]
        .filter(Boolean)
        .join(' · '),
    ),
    el('span', 'meta', `${timeOf(alert.atMs)} · ${alert.transactionId}`),
  );
  const reasons = el('ul', 'reasons');
  for (const reason of alert.reasons ?? []) {
    const li = el('li');
    li.append(el('code', undefined, reason.code), document.createTextNode(reason.description ?? ''));
    reasons.append(li);
  }
  item.append(head, reasons, labelBox(alert));
  return item;
}

function labelBox(alert) {
  const box = el('div', 'label-box');
  if (alert.label) {
    box.append(
      el('span', `labelled ${alert.label.label}`, `${alert.label.label.toLowerCase()} · ${alert.label.labelledBy}`),
    );
    return box;
  }
  const note = el('input');
  note.type = 'text';
  note.placeholder = 'Note (optional)';
  note.maxLength = 2000;
  const status = el('span', 'meta');
  const send = async (label, button) => {
    for (const b of box.querySelectorAll('button')) b.disabled = true;
    status.textContent = 'Saving…';
    try {
      const result = await api('POST', '/v1/labels', {
        transactionId: alert.transactionId,
        label,
        ...(note.value ? { note: note.value } : {}),
      });
      box.replaceChildren(el('span', `labelled ${result.label.label}`, `${label} · ${result.label.labelledBy}`));
    } catch (error) {
      status.textContent = error.message;
      for (const b of box.querySelectorAll('button')) b.disabled = false;
      button.focus();
    }
  };
  const fraud = el('button', 'fraud', 'Fraud');
  const genuine = el('button', 'genuine', 'Genuine');
  fraud.type = genuine.type = 'button';
  fraud.addEventListener('click', () => send('fraud', fraud));
  genuine.addEventListener('click', () => send('genuine', genuine));
  box.append(note, fraud, genuine, status);
  return box;
}

function addAlert(alert, { fresh, atTop }) {
  if (state.alertIds.has(alert.transactionId)) return;
  state.alertIds.add(alert.transactionId);
  const list = $('alerts');
  const node = renderAlert(alert, fresh);
  applyFilter(node);
  if (atTop) list.prepend(node);
  else list.append(node);
  while (list.children.length > MAX_ALERTS_SHOWN) {
    const last = list.lastElementChild;
    state.alertIds.delete(last.dataset.transactionId);
    last.remove();
  }
  $('alerts-empty').hidden = list.children.length > 0;
}

function applyFilter(node) {
  const show = node.dataset.decision === 'DECLINE' ? $('show-decline').checked : $('show-review').checked;
  node.hidden = !show;
}

/**
 * Redraws the list from GET /v1/alerts (with the latest labels). The history is read from the ledger's store,
 * which lags the live feed, so live alerts that arrive while it loads are put back on top rather than wiped.
 * Throws when the history cannot be read; the list is then left as it was.
 */
async function loadHistory() {
  const arrived = [];
  state.historyLoads.add(arrived);
  try {
    const page = await api('GET', '/v1/alerts?limit=100');
    $('alerts').replaceChildren();
    state.alertIds.clear();
    for (const row of page.alerts) addAlert(fromHistory(row), { fresh: false, atTop: false });
    for (const alert of arrived) addAlert(alert, { fresh: true, atTop: true });
    $('alerts-empty').hidden = $('alerts').children.length > 0;
  } finally {
    state.historyLoads.delete(arrived);
  }
}

/** Loads the history on the analyst's behalf: a failure is shown in the notice, a success clears it. */
function refreshHistory() {
  loadHistory().then(
    () => ($('notice').hidden = true),
    (error) => showNotice(`Could not load alert history: ${error.message}`),
  );
}

// ---- cases: the queue, read-only here (assign, note, resolve and approve through POST /v1/cases/{id}/actions) ----
async function loadCases() {
  const page = await api('GET', `/v1/cases?state=unresolved&sort=priority&limit=${MAX_CASES_SHOWN}`);
  const items = page.cases.map((c) => {
    const item = el('li');
    item.dataset.caseId = c.caseId;
    const who = c.assignee === null ? 'unassigned' : c.assignee;
    const alerts = c.alertCount === 1 ? '1 alert' : `${c.alertCount} alerts`;
    item.append(el('span', '', `${c.caseId} · ${c.state} · ${who}`));
    const minutes = Math.floor(c.ageMs / 60_000);
    const age = el(
      'span',
      c.slaBreached ? 'sla-breached' : 'muted',
      `${alerts} · ${minutes} min${c.slaBreached ? ' · SLA breached' : ''}`,
    );
    item.append(age);
    return item;
  });
  $('cases').replaceChildren(...items);
  $('cases-note').textContent = items.length === 0 ? 'No open cases.' : '';
}

/** Reloads the case list soon (once per burst of case steps); a failure is shown under the list. */
function scheduleCases(delayMs = CASES_RELOAD_MS) {
  if (state.casesTimer !== undefined) return;
  state.casesTimer = setTimeout(() => {
    state.casesTimer = undefined;
    if (!state.key) return;
    loadCases().catch((error) => ($('cases-note').textContent = `Could not load cases: ${error.message}`));
  }, delayMs);
}

function showNotice(text) {
  $('notice').textContent = text;
  $('notice').hidden = false;
}

function showStreamNote(text) {
  $('stream-note').textContent = text;
  $('stream-note').hidden = text === undefined;
}

const GAP_REASONS = {
  'too-many-missed': 'more were missed than a reconnect replays',
  'unknown-event-id': 'the server did not know where this console left off',
  'replay-failed': 'the server could not read them back',
};

/**
 * A resume that could not replay everything: says so, and keeps saying so after the list was reloaded from the
 * history, since alerts may have been missed (GET /v1/alerts lists the newest 100).
 */
function reportGap(message) {
  const what = `Alerts raised while this console was disconnected were not replayed (${GAP_REASONS[message.reason] ?? message.reason})`;
  showStreamNote(undefined);
  showNotice(`${what}; reloading the history…`);
  loadHistory().then(
    () => showNotice(`${what}; the list was reloaded from the alert history at ${timeOf(Date.now())}.`),
    (error) => showNotice(`${what}, and the history could not be loaded: ${error.message}. Use "Reload history".`),
  );
}

// ---- live stream ----
function connect() {
  // ?cases=true: steps on cases come too, and the case list is reloaded when they do.
  const resume = state.lastEventId === undefined ? '' : `&lastEventId=${encodeURIComponent(state.lastEventId)}`;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/alerts/live?cases=true${resume}`;
  setConnection('connecting…', 'status-wait');
  const ws = new WebSocket(url, ['vigil.v1', `bearer.${state.key}`]);
  state.ws = ws;
  ws.addEventListener('open', () => {
    state.retryMs = 1000;
    setConnection('live', 'status-on');
  });
  ws.addEventListener('message', (event) => {
    const message = JSON.parse(event.data);
    if (typeof message.eventId === 'string') state.lastEventId = message.eventId;
    if (message.type === 'alert') {
      state.sessionAlerts += 1;
      $('kpi-alerts').textContent = String(state.sessionAlerts);
      const alert = fromLive(message.alert);
      for (const arrived of state.historyLoads) arrived.push(alert);
      addAlert(alert, { fresh: true, atTop: true });
    } else if (message.type === 'hello') {
      if (message.resuming) setConnection('catching up…', 'status-wait');
    } else if (message.type === 'caught-up') {
      setConnection('live', 'status-on');
      const count = message.replayed === 1 ? '1 alert' : `${message.replayed} alerts`;
      showStreamNote(
        `Caught up: ${count} raised while disconnected ${message.replayed === 1 ? 'was' : 'were'} replayed (${timeOf(Date.now())}).`,
      );
    } else if (message.type === 'case') scheduleCases();
    else if (message.type === 'stats') renderStats(message);
    else if (message.type === 'dropped')
      showNotice(
        `${message.count} alerts were skipped while this connection was slow. Use "Reload history" to see them.`,
      );
    else if (message.type === 'gap') {
      setConnection('live', 'status-on');
      reportGap(message);
    }
  });
  ws.addEventListener('close', () => {
    if (state.ws !== ws || !state.key) return;
    setConnection('reconnecting…', 'status-off');
    // A refused upgrade (bad key) also lands here: a REST call first signs out if the key is no longer valid.
    setTimeout(
      async () => {
        if (!state.key) return;
        await api('GET', '/v1/alerts?limit=1').catch(() => undefined);
        if (state.key) connect();
      },
      state.retryMs * (0.5 + Math.random() / 2),
    );
    // Jittered, so consoles dropped by one blip do not all reconnect in the same instant.
    state.retryMs = Math.min(state.retryMs * 2, 30_000);
  });
}

function setConnection(text, className) {
  const node = $('kpi-connection');
  node.textContent = text;
  node.className = `kpi-value ${className}`;
}

// ---- charts ----
function renderStats(stats) {
  $('kpi-throughput').textContent = `${stats.throughputPerSecond.toFixed(1)} tx/s`;
  $('kpi-latency').textContent = stats.alertLatencyMs.p95 === null ? '–' : `${stats.alertLatencyMs.p95} ms`;
  state.throughput.push(stats.throughputPerSecond);
  if (state.throughput.length > THROUGHPUT_POINTS) state.throughput.shift();
  renderThroughput();
  renderMix(stats.decisionMix);
  renderHistogram(stats.scoreHistogram.counts);
  const l = stats.alertLatencyMs;
  const latency = $('latency');
  latency.replaceChildren();
  for (const [name, value] of [
    ['p50', l.p50],
    ['p95', l.p95],
    ['p99', l.p99],
    ['max', l.max],
    ['samples', l.samples],
  ]) {
    latency.append(
      el('dt', undefined, name),
      el('dd', undefined, value === null ? '–' : name === 'samples' ? String(value) : `${value} ms`),
    );
  }
}

function renderThroughput() {
  const chart = $('throughput-chart');
  chart.replaceChildren();
  const points = state.throughput;
  const max = Math.max(1, ...points);
  const step = 300 / (THROUGHPUT_POINTS - 1);
  const coords = points.map((v, i) => `${(i * step).toFixed(1)},${(72 - (v / max) * 64).toFixed(1)}`);
  if (coords.length > 1) chart.append(svg('polyline', { class: 'line', points: coords.join(' ') }));
  const label = svg('text', { class: 'axis', x: 2, y: 9 });
  label.textContent = `max ${max.toFixed(1)} tx/s`;
  chart.append(label);
}

function renderMix(mix) {
  const total = mix.APPROVE + mix.REVIEW + mix.DECLINE;
  const box = $('decision-mix');
  box.replaceChildren();
  for (const decision of ['APPROVE', 'REVIEW', 'DECLINE']) {
    const share = total === 0 ? 0 : mix[decision] / total;
    const row = el('div', 'mix-row');
    const track = el('div', 'mix-track');
    const fill = el('div', `mix-fill ${decision}`);
    fill.style.width = `${(share * 100).toFixed(1)}%`;
    track.append(fill);
    row.append(
      el('span', undefined, decision.toLowerCase()),
      track,
      el('span', undefined, `${mix[decision]} · ${(share * 100).toFixed(1)}%`),
    );
    box.append(row);
  }
}

function renderHistogram(counts) {
  const chart = $('score-chart');
  chart.replaceChildren();
  // Square-root scale: approvals dwarf the rare high scores analysts care about.
  const max = Math.max(1, ...counts.map((c) => Math.sqrt(c)));
  const width = 300 / counts.length;
  counts.forEach((count, i) => {
    const h = (Math.sqrt(count) / max) * 86;
    const bar = svg('rect', {
      class: `bar${i >= 8 ? ' hot' : i >= 5 ? ' warm' : ''}`,
      x: i * width + 2,
      y: 90 - h,
      width: width - 4,
      height: h,
    });
    const title = svg('title', {});
    title.textContent = `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}: ${count}`;
    bar.append(title);
    const tick = svg('text', { class: 'axis', x: i * width + width / 2 - 6, y: 104 });
    tick.textContent = (i / 10).toFixed(1);
    chart.append(bar, tick);
  });
}

// ---- session ----
function signIn(key) {
  state.key = key;
  sessionStorage.setItem(KEY_STORAGE, key);
  $('login').hidden = true;
  $('console').hidden = false;
  $('sign-out').hidden = false;
  refreshHistory();
  scheduleCases(0);
  connect();
}

function signOut(message) {
  state.key = null;
  sessionStorage.removeItem(KEY_STORAGE);
  const ws = state.ws;
  state.ws = undefined;
  ws?.close();
  setConnection('offline', 'status-off');
  showStreamNote(undefined);
  $('console').hidden = true;
  $('sign-out').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message ?? '';
  $('api-key').value = '';
  $('api-key').focus();
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = $('api-key').value.trim();
  const response = await fetch('/v1/alerts?limit=1', { headers: { authorization: `Bearer ${key}` } });
  if (response.ok) signIn(key);
  else $('login-error').textContent = response.status === 403 ? 'This key is not an analyst key.' : 'Key not accepted.';
});
// ---- sign-in at the OpenID provider (authorization code + PKCE) ----
const PKCE_STORAGE = 'vigil.pkce';
const base64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
const randomText = () => base64url(crypto.getRandomValues(new Uint8Array(32)));
const redirectUri = () => `${location.origin}/`;
let signInConfig = null;

async function discovery() {
  const response = await fetch(`${signInConfig.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`the sign-in service answered ${response.status}`);
  return response.json();
}

async function startProviderSignIn() {
  const { authorization_endpoint: endpoint } = await discovery();
  const verifier = randomText();
  const stateValue = randomText();
  sessionStorage.setItem(PKCE_STORAGE, JSON.stringify({ verifier, state: stateValue }));
  const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const url = new URL(endpoint);
  url.search = new URLSearchParams({
    client_id: signInConfig.clientId,
    response_type: 'code',
    redirect_uri: redirectUri(),
    scope: 'openid profile vigil',
    resource: signInConfig.audience,
    state: stateValue,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.href);
}

/** Back from the provider with ?code=&state=: exchanges the code for the access token, or says why not. */
async function finishProviderSignIn(params) {
  const saved = JSON.parse(sessionStorage.getItem(PKCE_STORAGE) ?? 'null');
  sessionStorage.removeItem(PKCE_STORAGE);
  history.replaceState(null, '', location.pathname);
  if (params.get('error')) throw new Error(params.get('error_description') ?? params.get('error'));
  if (!saved || saved.state !== params.get('state')) throw new Error('the sign-in response does not match this tab');
  const { token_endpoint: endpoint } = await discovery();
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: params.get('code'),
      redirect_uri: redirectUri(),
      client_id: signInConfig.clientId,
      code_verifier: saved.verifier,
    }).toString(),
  });
  const body = await response.json();
  if (!response.ok || !body.access_token) throw new Error(body.error_description ?? 'the sign-in was refused');
  const check = await fetch('/v1/alerts?limit=1', { headers: { authorization: `Bearer ${body.access_token}` } });
  if (check.status === 403) throw new Error('You are signed in, but not as an analyst.');
  if (!check.ok) throw new Error('Vigil did not accept the sign-in.');
  signIn(body.access_token);
}

$('provider-sign-in').addEventListener('click', () =>
  startProviderSignIn().catch((error) => ($('login-error').textContent = `Sign-in failed: ${error.message}`)),
);
$('sign-out').addEventListener('click', () => signOut());
$('reload').addEventListener('click', () => refreshHistory());
for (const id of ['show-review', 'show-decline'])
  $(id).addEventListener('change', () => document.querySelectorAll('#alerts > li').forEach(applyFilter));

async function start() {
  signInConfig = await fetch('/assets/sign-in.json')
    .then((r) => (r.ok ? r.json() : null))
    .catch(() => null);
  $('provider-sign-in-block').hidden = signInConfig === null;
  const params = new URLSearchParams(location.search);
  if (signInConfig !== null && (params.has('code') || params.has('error'))) {
    signOut();
    await finishProviderSignIn(params).catch(
      (error) => ($('login-error').textContent = `Sign-in failed: ${error.message}`),
    );
    return;
  }
  if (state.key) signIn(state.key);
  else signOut();
}
start();
