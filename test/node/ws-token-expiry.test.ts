// Short-lived tokens against the real server (in process, heartbeat every 100 ms, no tolerance for
// clock skew, so a connection ends right at its token's expiry): with a token
// function the client renews the token on the open connection (`reauth`) and never drops; with a
// fixed token the connection ends at the expiry and the client stops, saying why.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { websocketBackend } from '@perch/backend-ws';
import { createClient, type ConnectionState, type PerchClient } from '@perch/core';
import { startServer, type RunningServer } from '@perch/server';
import { SignJWT } from 'jose';
import { freshIndexedDb, until } from './harness.js';

const SECRET = 'token-expiry-secret';
const LIMIT = { timeout: 20_000 };
let server: RunningServer;
const clients: PerchClient[] = [];

beforeEach(async () => {
  freshIndexedDb();
  server = await startServer({ port: 0, db: ':memory:', secret: SECRET, heartbeatMs: 100, clockToleranceSeconds: 0, log: () => undefined });
});
afterEach(async () => {
  for (const client of clients.splice(0)) await client.disconnect();
  await server.close();
});

/** A token for `sub` that expires in `seconds` (whole seconds, as JWT `exp` has them). */
const shortToken = (sub: string, seconds: number) =>
  new SignJWT({ name: sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setAudience('perch')
    .setIssuer('perch')
    .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
    .sign(new TextEncoder().encode(SECRET));

function client(auth: Parameters<typeof createClient>[0]['auth']): { client: PerchClient; states: ConnectionState[] } {
  const states: ConnectionState[] = [];
  const created = createClient({
    backend: websocketBackend({ url: server.url.replace('http', 'ws'), requestTimeout: 5_000 }),
    auth,
    user: 'ada',
    tabs: 'single',
    reconnect: { baseDelay: 5, maxDelay: 50 },
  });
  created.status.subscribe((status) => states.push(status.state));
  clients.push(created);
  return { client: created, states };
}

test('with a token function, the token is renewed on the open connection before it expires: no drop, no reconnect', LIMIT, async () => {
  let minted = 0;
  const { client: ada, states } = client(async () => {
    minted++;
    return { token: await shortToken('ada', 3) };
  });
  await ada.connect();
  assert.equal(ada.status.get().state, 'online');
  const since = states.length;
  // Past the first token's expiry (2–3 s) and into the second's: the server would have closed.
  await new Promise((resolve) => setTimeout(resolve, 3_500));
  assert.deepEqual(states.slice(since), [], 'the status never left online');
  assert.ok(minted >= 3, `the token function was asked again (${minted} tokens: sign-in and renewals)`);
  // The connection still serves requests.
  assert.ok(Array.isArray(await ada.directory()));
});

test('with a fixed token, the connection ends at the expiry (4004) and the client stops with unauthorized', LIMIT, async () => {
  const { client: ada, states } = client({ token: await shortToken('ada', 2) });
  await ada.connect();
  await until(() => ada.status.get().state === 'offline', 'offline after the expiry', 6_000);
  assert.ok(states.includes('reconnecting'), 'it tried again with the same token first');
  assert.equal(ada.status.get().error?.code, 'unauthorized');
  assert.match(String(ada.status.get().error?.message), /expired/);
});
