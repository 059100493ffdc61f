#!/usr/bin/env node
// Drives the gateway with the real GraphQL clients storefronts use, so the
// Go test (clients_test.go) checks the transports against them rather than
// against its own hand-written protocol code:
//
//   graphql-ws 6            websocket, subprotocol graphql-transport-ws
//   subscriptions-transport-ws 0.11  websocket, legacy subprotocol graphql-ws
//   graphql-sse 2           SSE, distinct connections mode
//   fetch                   one plain query
//
// Usage:
//   node clients/clients.mjs --url http://127.0.0.1:PORT/graphql --key KEY \
//     --skus A,B --expect N [--timeout 15000] [--location web] [--settle 300] [--progress]
//
// stdout, one line each:
//   READY                       all three subscriptions are established
//   CHANGE <client> <count> <sku> <committed>
//                               (only with --progress) a client received a change
//   {"graphql-ws":[...], ...}   the result, once every client has N changes
// Exits 0 after the result; 1 with a message on stderr on error or timeout.
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { createClient as createWsClient } from 'graphql-ws';
import { SubscriptionClient } from 'subscriptions-transport-ws';
import { createClient as createSseClient } from 'graphql-sse';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    key: { type: 'string' },
    skus: { type: 'string' },
    expect: { type: 'string' },
    timeout: { type: 'string', default: '15000' },
    location: { type: 'string', default: 'web' },
    settle: { type: 'string', default: '300' },
    progress: { type: 'boolean', default: false },
  },
  strict: true,
});
for (const name of ['url', 'key', 'skus', 'expect']) {
  if (!opts[name]) usage(`--${name} is required`);
}
const httpUrl = opts.url;
const wsUrl = httpUrl.replace(/^http/, 'ws');
const skus = opts.skus.split(',').map((s) => s.trim()).filter(Boolean);
const expect = Number(opts.expect);
const timeoutMs = Number(opts.timeout);
const settleMs = Number(opts.settle);
if (!skus.length || !Number.isInteger(expect) || expect < 1 || !(timeoutMs > 0) || !(settleMs >= 0)) {
  usage('--skus must name at least one SKU, --expect must be a positive integer, --timeout and --settle numbers');
}
const authorization = `Bearer ${opts.key}`;
const READY_DELAY_MS = 300; // subscriptions are not acknowledged: give the server time to register them

const SUBSCRIPTION = `subscription($skus:[String!]){ availabilityChanged(skus:$skus){ sku location onHand committed available seq coalesced } }`;
const subscribePayload = { query: SUBSCRIPTION, variables: { skus } };
const CLIENTS = ['graphql-ws', 'subscriptions-transport-ws', 'graphql-sse'];

const received = Object.fromEntries(CLIENTS.map((c) => [c, []]));
const connected = new Set();
const cleanups = [];
let finished = false;
let readyPrinted = false;
let badKey = null; // settles to {badKeyRejected, ...details}

function usage(msg) {
  process.stderr.write(`clients.mjs: ${msg}\nusage: node clients.mjs --url URL --key KEY --skus A,B --expect N [--timeout MS]\n`);
  process.exit(2);
}

function describe(err) {
  if (err == null) return String(err);
  if (Array.isArray(err)) return err.map(describe).join('; ');
  if (typeof err === 'object' && 'code' in err && 'reason' in err) return `socket closed (code ${err.code}, reason ${JSON.stringify(err.reason)})`;
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err.message) return err.message;
  try { return JSON.stringify(err); } catch { return String(err); }
}

async function cleanup() {
  await Promise.allSettled(cleanups.map((f) => Promise.resolve().then(f)));
}

async function fail(msg) {
  if (finished) return;
  finished = true;
  process.stderr.write(`clients.mjs: ${msg}\n`);
  await cleanup();
  process.exit(1);
}

function onConnected(client) {
  connected.add(client);
  if (connected.size === CLIENTS.length && !readyPrinted) {
    readyPrinted = true;
    setTimeout(() => process.stdout.write('READY\n'), READY_DELAY_MS);
  }
}

function onResult(client, result) {
  if (finished) return;
  if (result.errors?.length) return fail(`${client}: subscription returned errors: ${describe(result.errors)}`);
  const change = result.data?.availabilityChanged;
  if (!change) return fail(`${client}: result without availabilityChanged: ${JSON.stringify(result)}`);
  received[client].push(change);
  if (opts.progress) process.stdout.write(`CHANGE ${client} ${received[client].length} ${change.sku} ${change.committed}\n`);
  maybeFinish();
}

function onUnexpectedEnd(client, why) {
  if (!finished) fail(`${client}: subscription ended before ${expect} changes arrived (${received[client].length} so far): ${why}`);
}

let finishing = false;
function maybeFinish() {
  if (finishing || finished || badKey === null) return;
  if (!CLIENTS.every((c) => received[c].length >= expect)) return;
  finishing = true;
  // Wait a little for stray extra changes (duplicates would show up here).
  setTimeout(async () => {
    try {
      const query = await runQuery();
      if (finished) return;
      finished = true;
      const out = { ...received, query, ...badKey };
      await cleanup();
      process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
    } catch (err) {
      fail(`query: ${describe(err)}`);
    }
  }, settleMs);
}

// --- graphql-ws (graphql-transport-ws) ---------------------------------
{
  const client = createWsClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: authorization },
    retryAttempts: 0,
    on: {
      connected: () => onConnected('graphql-ws'),
      closed: (ev) => { if (!finished) fail(`graphql-ws: socket closed: ${describe(ev)}`); },
      error: (err) => { if (!finished) fail(`graphql-ws: ${describe(err)}`); },
    },
  });
  const unsubscribe = client.subscribe(subscribePayload, {
    next: (r) => onResult('graphql-ws', r),
    error: (err) => { if (!finished) fail(`graphql-ws: subscription error: ${describe(err)}`); },
    complete: () => onUnexpectedEnd('graphql-ws', 'completed'),
  });
  cleanups.push(() => unsubscribe(), () => client.dispose());
}

// --- subscriptions-transport-ws (legacy graphql-ws subprotocol) ---------
{
  const client = new SubscriptionClient(
    wsUrl,
    { reconnect: false, connectionParams: { Authorization: authorization } },
    WebSocket,
  );
  client.onConnected(() => onConnected('subscriptions-transport-ws'));
  client.onError((err) => { if (!finished) fail(`subscriptions-transport-ws: ${describe(err)}`); });
  client.onDisconnected(() => onUnexpectedEnd('subscriptions-transport-ws', 'disconnected'));
  const sub = client.request(subscribePayload).subscribe({
    next: (r) => onResult('subscriptions-transport-ws', r),
    error: (err) => { if (!finished) fail(`subscriptions-transport-ws: subscription error: ${describe(err)}`); },
    complete: () => onUnexpectedEnd('subscriptions-transport-ws', 'completed'),
  });
  cleanups.push(() => sub.unsubscribe(), () => client.close());
}

// --- graphql-sse (distinct connections mode) ----------------------------
{
  const client = createSseClient({
    url: httpUrl,
    headers: { Authorization: authorization },
    retryAttempts: 0,
  });
  const unsubscribe = client.subscribe(
    subscribePayload,
    {
      next: (r) => onResult('graphql-sse', r),
      error: (err) => { if (!finished) fail(`graphql-sse: subscription error: ${describe(err)}`); },
      complete: () => onUnexpectedEnd('graphql-sse', 'completed'),
    },
    { connected: () => onConnected('graphql-sse') },
  );
  cleanups.push(() => unsubscribe(), () => client.dispose());
}

// --- graphql-ws with a bad key: must be refused ------------------------
{
  const details = { closeCode: null, closeReason: null, sinkError: null };
  let settled = false;
  let wasConnected = false;
  const client = createWsClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: 'Bearer not-a-valid-key-000000000' },
    retryAttempts: 0,
    on: {
      connected: () => { wasConnected = true; settle(false, 'connection_ack received'); },
      closed: (ev) => {
        details.closeCode = ev?.code ?? null;
        details.closeReason = ev?.reason ?? null;
        settle(!wasConnected, 'closed');
      },
    },
  });
  // The gateway closes with 1000 after refusing connection_init; graphql-ws
  // retries a 1000 close forever while a subscription is active, so stop it
  // at the first close.
  const unsubscribe = client.subscribe(subscribePayload, {
    next: () => settle(false, 'received data'),
    error: (err) => { details.sinkError = describe(err); settle(!wasConnected, 'error'); },
    complete: () => {},
  });
  const timer = setTimeout(() => settle(false, 'neither refused nor connected within 5 s'), 5000);
  function settle(rejected, how) {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    unsubscribe();
    // dispose() awaits the pending connect, which rejects with the close.
    Promise.resolve(client.dispose()).catch(() => {});
    badKey = {
      badKeyRejected: rejected,
      badKey: { how, closeCode: details.closeCode, closeReason: details.closeReason, sinkError: details.sinkError },
    };
    maybeFinish();
  }
}

// --- one plain query through fetch -------------------------------------
async function runQuery() {
  const vars = { loc: opts.location };
  const fields = skus.map((sku, i) => {
    vars[`s${i}`] = sku;
    return `s${i}: availability(sku:$s${i}, location:$loc){ sku location onHand committed available seq }`;
  });
  const defs = skus.map((_, i) => `$s${i}:String!`).join(',');
  const res = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', Authorization: authorization },
    body: JSON.stringify({ query: `query(${defs},$loc:String!){ ${fields.join(' ')} }`, variables: vars }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${text}`);
  const body = JSON.parse(text);
  if (body.errors?.length) throw new Error(`errors: ${describe(body.errors)}`);
  return Object.fromEntries(skus.map((sku, i) => [sku, body.data[`s${i}`]]));
}

setTimeout(() => {
  const counts = CLIENTS.map((c) => `${c} ${received[c].length}/${expect}`).join(', ');
  const missing = CLIENTS.filter((c) => !connected.has(c));
  fail(`timeout after ${timeoutMs} ms: ${counts}` +
    (missing.length ? `; never connected: ${missing.join(', ')}` : '') +
    (badKey === null ? '; bad-key check unsettled' : ''));
}, timeoutMs);

process.on('unhandledRejection', (err) => fail(`unhandled rejection: ${describe(err)}`));
process.on('uncaughtException', (err) => fail(`uncaught exception: ${describe(err)}`));
