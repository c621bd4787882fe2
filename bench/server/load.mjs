// The load generator of `npm run bench:server`, run as its own process so that it does not share
// an event loop with the server. It does share the machine's cores, so every microsecond it spends
// per message is taken from the server: the clients are lightweight, a minimal WebSocket client
// over `node:net` (./client.mjs), the same for Perch and for the relay, speaking frames directly.
//
//   node bench/server/load.mjs perch  URL TOKENS_FILE CLIENTS RATE SECONDS
//   node bench/server/load.mjs relay  URL -           CLIENTS RATE SECONDS
//   node bench/server/load.mjs idle   URL TOKENS_FILE CLIENTS
//
// perch/relay: CLIENTS clients in CLIENTS/2 direct conversations. RATE > 0: open loop, RATE
// messages/s in total, round-robin over the clients. RATE = 0: saturation, closed loop — every
// message a client receives makes it answer its partner, with 4 chains per pair in flight — which
// finds the most messages/s each side can carry. Runs SECONDS after a 1 s warm-up and prints one
// JSON line: delivered messages/s (persisted and received by the partner), p50/p99 send→receive ms,
// and this process's own CPU while measuring (loadCpu, cores).
// idle: opens CLIENTS authenticated connections, prints {"ready":n}, then waits for stdin to close.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connectWebSocket } from './client.mjs';

const [mode, url, tokensFile, clientsArg, rateArg, secondsArg] = process.argv.slice(2);
const clients = Number(clientsArg);
const rate = Number(rateArg ?? 0);
const seconds = Number(secondsArg ?? 0);
const tokens = tokensFile && tokensFile !== '-' ? JSON.parse(readFileSync(tokensFile, 'utf8')) : [];

/**
 * Opens one socket; for perch mode, completes the hello. Frames (Buffers) go to `client.onFrame`
 * once it is set (the traffic phase); until then they are parsed as JSON for the setup (hello,
 * openDirect). A connection lost after the setup goes to `client.onLost`.
 */
function open(index) {
  return new Promise((resolve, reject) => {
    const client = { ws: undefined, index, pending: new Map(), nextId: 0, conversationId: undefined, onFrame: undefined, onLost: undefined };
    const onClose = (code, reason) => {
      if (client.onLost) return client.onLost(code, reason);
      const message = `client ${index}: connection closed (${code} ${reason})`;
      for (const waiter of client.pending.values()) waiter({ type: 'error', message }); // fail the setup
      client.pending.clear();
      reject(new Error(message));
    };
    const onMessage = (data) => {
      if (client.onFrame) return client.onFrame(data);
      const frame = JSON.parse(data);
      if (frame.type === 'welcome') return resolve(client);
      if (frame.type === 'res' || (frame.type === 'error' && frame.id)) {
        const waiter = client.pending.get(frame.id);
        client.pending.delete(frame.id);
        waiter?.(frame);
      } else if (frame.type === 'error') {
        reject(new Error(`${frame.code}: ${frame.message}`));
      }
    };
    connectWebSocket(mode === 'relay' ? `${url}?id=${index}` : url, { onMessage, onClose }).then((ws) => {
      client.ws = ws;
      if (mode === 'relay') return resolve(client);
      ws.send(JSON.stringify({ type: 'hello', v: 1, auth: { token: tokens[index] } }));
    }, reject);
  });
}

function request(client, cmd, args) {
  const id = String(++client.nextId);
  if (client.ws.closed) return Promise.resolve({ type: 'error', message: `client ${client.index}: connection closed` });
  return new Promise((resolve) => {
    client.pending.set(id, resolve);
    client.ws.send(JSON.stringify({ type: 'req', id, cmd, args }));
  });
}

async function openAll() {
  const all = [];
  for (let i = 0; i < clients; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(clients, i + 100); j++) batch.push(open(j));
    all.push(...(await Promise.all(batch)));
  }
  return all;
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function traffic() {
  const all = await openAll();
  // Pair 0-1, 2-3, …: one direct conversation per pair.
  if (mode === 'perch') {
    await Promise.all(
      all.filter((c) => c.index % 2 === 0).map(async (c) => {
        const partner = all[c.index + 1];
        const res = await request(c, 'openDirect', { userId: `u${partner.index}` });
        if (res.type !== 'res') throw new Error(`openDirect failed: ${res.message}`);
        c.conversationId = partner.conversationId = res.result.id;
      }),
    );
  }
  const latencies = [];
  let acked = 0;
  let errors = 0;
  let firstError;
  let measuring = false;
  let delivered = 0;
  let running = true;
  const closedLoop = rate === 0;
  // The client is kept as light as the relay's: during traffic it parses (JSON.parse) only the one
  // frame per message that the relay's client parses too — the partner's copy, which carries the
  // send time. Perch also sends the sender an ack ("res") and possibly an echo of its own message
  // (this client works either way); those are told apart by their first bytes and the senderId,
  // and counted (acks) or skipped (echoes) without being parsed.
  const received = (c, t) => {
    if (measuring) {
      delivered++;
      latencies.push(performance.now() - t);
    }
    if (closedLoop && running) sendOne(c);
  };
  const SENDER = Buffer.from('"senderId":"');
  for (const c of all) {
    // A connection lost mid-run would quietly lower the figures: count it as an error instead.
    c.onLost = (code, reason) => {
      errors++;
      firstError ??= `client ${c.index}: connection closed (${code} ${reason})`;
    };
    if (mode === 'relay') {
      c.onFrame = (data) => received(c, JSON.parse(data).t);
      continue;
    }
    const own = Buffer.from(`u${c.index}"`);
    c.onFrame = (data) => {
      // Server frames are JSON.stringify output and start with {"type":"res" / "event" / "error".
      if (data[9] === 0x72 /* r */) {
        if (measuring) acked++;
        return;
      }
      if (data[9] === 0x65 /* e */ && data[10] === 0x72 /* r */) {
        errors++;
        firstError ??= data.toString();
        return;
      }
      const at = data.indexOf(SENDER) + SENDER.length;
      if (at < SENDER.length || data.compare(own, 0, own.length, at, at + own.length) === 0) return; // Not a message, or our own echo.
      const frame = JSON.parse(data);
      if (frame.event === 'message') received(c, Number(frame.data.text.slice(2)));
    };
  }
  // clientIds as @perch/core makes them: UUIDv7, the compose time then random bits (so they never
  // repeat across runs against the same server, which dedupes on them).
  const clientId = (now) => {
    const hex = now.toString(16).padStart(12, '0');
    return `${hex.slice(0, 8)}-${hex.slice(8)}-7${randomUUID().slice(15)}`;
  };
  const sendOne = (c) => {
    const t = performance.now();
    const now = Date.now();
    if (mode === 'relay') return c.ws.send(`{"to":${c.index ^ 1},"t":${t}}`);
    c.ws.send(
      `{"type":"req","id":"${++c.nextId}","cmd":"sendMessage","args":{"conversationId":"${c.conversationId}",` +
        `"clientId":"${clientId(now)}","text":"t=${t}","createdAt":${now}}}`,
    );
  };
  if (closedLoop) for (let chain = 0; chain < 4; chain++) for (const c of all) if (c.index % 2 === 0) sendOne(c);
  // Open loop: every tick, send the messages due since the start, round-robin over the clients.
  const start = performance.now();
  const warmup = 1000;
  let cpuAtStart;
  let due = 0;
  let next = 0;
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - start;
      if (!measuring && elapsed >= warmup) {
        measuring = true;
        latencies.length = 0;
        cpuAtStart = process.cpuUsage();
      }
      if (elapsed >= warmup + seconds * 1000) {
        clearInterval(timer);
        return resolve();
      }
      if (closedLoop) return;
      const target = Math.floor((elapsed / 1000) * rate);
      for (; due < target; due++) sendOne(all[next++ % all.length]);
    }, 5);
  });
  measuring = false;
  running = false;
  const cpu = process.cpuUsage(cpuAtStart);
  await new Promise((r) => setTimeout(r, 300)); // let in-flight frames land (not counted)
  latencies.sort((a, b) => a - b);
  if (firstError) console.error(`load: ${errors} errors (error frames, lost connections), the first: ${firstError}`);
  console.log(
    JSON.stringify({
      offered: closedLoop ? 'saturation' : rate,
      deliveredPerSecond: delivered / seconds,
      ackedPerSecond: mode === 'relay' ? undefined : acked / seconds,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      received: latencies.length,
      errors,
      loadCpu: (cpu.user + cpu.system) / 1e6 / seconds,
    }),
  );
  for (const c of all) c.ws.terminate();
}

async function idle() {
  const all = await openAll();
  // A dropped idle connection (e.g. a missed heartbeat) would skew the RSS per connection; the
  // server going away (1001) at the end of the phase is expected.
  for (const c of all) {
    c.onLost = (code, reason) => code !== 1001 && console.error(`load: idle client ${c.index} lost (${code} ${reason})`);
  }
  console.log(JSON.stringify({ ready: all.length }));
  process.stdin.resume();
  process.stdin.on('end', () => {
    for (const c of all) c.ws.terminate();
    process.exit(0);
  });
}

await (mode === 'idle' ? idle() : traffic());
if (mode !== 'idle') process.exit(0);
