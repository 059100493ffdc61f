#!/usr/bin/env node
// Drives one graphql-ws 6 client (subprotocol graphql-transport-ws) in
// the modes clients_test.go needs to check resumable subscriptions and key
// revocation against a real client library:
//
//   --mode first   subscribe to --sku, print READY, wait for --expect
//                  changes, print {"seqs":[...],"cursor":"..."} and exit
//   --mode resume  subscribe with after: --after, wait for --expect
//                  changes and --settle ms more (to catch extras), print
//                  {"seqs":[...]} and exit
//   --mode revoke  subscribe, print READY, wait until the server closes
//                  the socket, print {"closed":CODE,"reason":"..."} and exit
//
// Usage:
//   node clients/resume.mjs --url http://127.0.0.1:PORT/graphql --key KEY \
//     --sku SKU --mode first|resume|revoke [--after CURSOR] [--expect N] \
//     [--timeout 15000] [--settle 300]
// Exits 1 with a message on stderr on error or timeout.
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    key: { type: 'string' },
    sku: { type: 'string' },
    mode: { type: 'string' },
    after: { type: 'string' },
    expect: { type: 'string', default: '1' },
    timeout: { type: 'string', default: '15000' },
    settle: { type: 'string', default: '300' },
  },
  strict: true,
});
for (const name of ['url', 'key', 'sku', 'mode']) {
  if (!opts[name]) fail(`--${name} is required`, 2);
}
if (!['first', 'resume', 'revoke'].includes(opts.mode)) fail('--mode must be first, resume or revoke', 2);
if (opts.mode === 'resume' && !opts.after) fail('--mode resume needs --after', 2);
const expect = Number(opts.expect);
const QUERY = `subscription($skus:[String!], $after:String){
  availabilityChanged(skus:$skus, after:$after){ sku location seq committed cursor } }`;

function fail(msg, code = 1) {
  process.stderr.write(`resume.mjs: ${msg}\n`);
  process.exit(code);
}

setTimeout(() => fail(`timed out after ${opts.timeout} ms`), Number(opts.timeout)).unref();

let closed = null;
const client = createClient({
  url: opts.url.replace(/^http/, 'ws'),
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${opts.key}` },
  retryAttempts: 0,
  on: {
    closed: (ev) => {
      closed = { closed: ev.code, reason: String(ev.reason) };
      if (opts.mode === 'revoke') {
        process.stdout.write(JSON.stringify(closed) + '\n');
        process.exit(0);
      }
    },
    connected: () => process.stdout.write('READY\n'),
  },
});

const changes = [];
let done = false;
const finish = () => {
  if (done) return;
  done = true;
  const out = { seqs: changes.map((c) => c.seq) };
  if (opts.mode === 'first') out.cursor = changes[changes.length - 1].cursor;
  process.stdout.write(JSON.stringify(out) + '\n');
  client.dispose();
  process.exit(0);
};

client.subscribe(
  { query: QUERY, variables: { skus: [opts.sku], after: opts.after ?? null } },
  {
    next: ({ data, errors }) => {
      if (errors) fail(`subscription errors: ${JSON.stringify(errors)}`);
      changes.push(data.availabilityChanged);
      if (opts.mode === 'first' && changes.length >= expect) finish();
      if (opts.mode === 'resume' && changes.length === expect) setTimeout(finish, Number(opts.settle));
    },
    error: (err) => {
      if (opts.mode !== 'revoke') fail(`subscription error: ${JSON.stringify(err?.message ?? err)}`);
    },
    complete: () => {},
  },
);
