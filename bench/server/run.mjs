// `npm run bench:server`: the reference server under load, on loopback, with the load generator in
// a separate process. Prints figures; asserts nothing. In the same run it measures a bare `ws`
// relay doing the same delivery without storage or checks, and prints our throughput as a ratio.
//
//   npm run bench:server                    # 1,000 clients, 500 direct conversations, 10,000 idle
//   CLIENTS=200 IDLE=2000 npm run bench:server   # a quicker look
//   SECONDS=3 IDLE=0 npm run bench:server        # throughput only (IDLE=0 skips the idle-RSS phase)
//
// The load generator shares the machine with the server, so its CPU is printed too: a figure
// limited by the load generator (near 1 core) says more about the client than about the server.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CLIENTS = Number(process.env.CLIENTS ?? 1000);
const IDLE = Number(process.env.IDLE ?? 10_000);
const SECONDS = Number(process.env.SECONDS ?? 5);
const RATE = Number(process.env.RATE ?? 20_000);
const SECRET = 'bench-secret-bench-secret-bench-secret';
// The databases go to the temp dir (a real disk here). BENCH_DB_DIR=/dev/shm shows what the
// CPUs alone allow, without the disk's write latency (not durable: for diagnosis only).
const dir = mkdtempSync(join(process.env.BENCH_DB_DIR ?? tmpdir(), 'perch-bench-'));

/** Starts a process and resolves with it and the first stdout line matching `pattern`. */
function start(args, pattern) {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const match = buffer.match(pattern);
      if (match) resolve({ child, match });
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before it was ready`)));
  });
}

/** Runs the load generator to completion and parses its JSON result line. */
async function load(args) {
  const child = spawn(process.execPath, [join(root, 'bench/server/load.mjs'), ...args], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const code = await new Promise((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`load generator exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1));
}

/** User + system CPU seconds of a process so far, or of its main thread only with `mainThread` (Linux /proc). */
function cpuSeconds(pid, mainThread = false) {
  const fields = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

const rssBytes = (pid) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/)[1]) * 1024;

async function tokens(count) {
  const file = join(dir, `tokens-${count}.json`);
  const key = new TextEncoder().encode(SECRET);
  const list = [];
  for (let i = 0; i < count; i++) {
    list.push(
      await new SignJWT({ name: `User ${i}` })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(`u${i}`)
        .setAudience('perch')
        .setIssuer('perch')
        .setExpirationTime('2h')
        .sign(key),
    );
  }
  writeFileSync(file, JSON.stringify(list));
  return file;
}

async function perchServer(db) {
  const { child, match } = await start(
    [
      join(root, 'packages/server/bin/perch-server.mjs'),
      ...['--port', '0', '--db', db, '--secret', SECRET],
      // The benchmark drives each identity far harder than a person would.
      ...['--rate-per-connection', '100000', '--rate-per-identity', '100000'],
    ],
    /http:\/\/[^\s]+/,
  );
  return { child, url: match[0].replace('http', 'ws') };
}

const fmt = (n, digits = 1) => (typeof n === 'number' && Number.isFinite(n) ? n.toFixed(digits) : String(n));

async function main() {
  console.log(`perch bench:server — ${CLIENTS} clients in ${CLIENTS / 2} direct conversations, loopback, 2 processes`);
  const tokenFile = await tokens(Math.max(CLIENTS, IDLE));

  // 1. Baseline: a bare relay, saturated.
  const relay = await start([join(root, 'bench/server/relay.mjs')], /"port":(\d+)/);
  const relayMax = await load(['relay', `ws://127.0.0.1:${relay.match[1]}`, '-', String(CLIENTS), '0', String(SECONDS)]);
  relay.child.kill();

  // 2. Perch, saturated, then at the target rate.
  const server = await perchServer(join(dir, 'bench.db'));
  const cpuBefore = cpuSeconds(server.child.pid);
  const mainBefore = cpuSeconds(server.child.pid, true);
  const wallBefore = performance.now();
  const perchMax = await load(['perch', server.url, tokenFile, String(CLIENTS), '0', String(SECONDS)]);
  const wall = (performance.now() - wallBefore) / 1000;
  const cpu = (cpuSeconds(server.child.pid) - cpuBefore) / wall;
  const mainCpu = (cpuSeconds(server.child.pid, true) - mainBefore) / wall;
  const perchRate = await load(['perch', server.url, tokenFile, String(CLIENTS), String(RATE), String(SECONDS)]);
  server.child.kill('SIGTERM');

  // 3. Idle connections: RSS per connection.
  let idleRow = ['idle RSS per connection', 'skipped (IDLE=0)'];
  if (IDLE > 0) {
    const idleServer = await perchServer(join(dir, 'idle.db'));
    await new Promise((r) => setTimeout(r, 500));
    const rssBefore = rssBytes(idleServer.child.pid);
    const idle = await start([join(root, 'bench/server/load.mjs'), 'idle', idleServer.url, tokenFile, String(IDLE)], /"ready":(\d+)/);
    await new Promise((r) => setTimeout(r, 1000));
    const rssAfter = rssBytes(idleServer.child.pid);
    idle.child.stdin.end();
    idleServer.child.kill('SIGTERM');
    const ready = Number(idle.match[1]);
    idleRow = [`idle RSS per connection at ${ready} connections (KiB)`, fmt((rssAfter - rssBefore) / ready / 1024)];
  }

  const rows = [
    ['relay baseline, saturated: delivered msg/s', fmt(relayMax.deliveredPerSecond, 0)],
    ['relay baseline: load generator CPU (cores)', fmt(relayMax.loadCpu, 2)],
    ['perch, saturated: persisted + delivered msg/s', fmt(perchMax.deliveredPerSecond, 0)],
    ['perch, saturated: p50 / p99 ms', `${fmt(perchMax.p50)} / ${fmt(perchMax.p99)}`],
    ['ratio perch / relay', fmt(perchMax.deliveredPerSecond / relayMax.deliveredPerSecond, 3)],
    ['perch server CPU while saturated (cores)', `${fmt(cpu, 2)} (main thread ${fmt(mainCpu, 2)}, others ${fmt(cpu - mainCpu, 2)})`],
    // Less sensitive to a busy machine than msg/s (the whole run, setup included, over the measured messages).
    ['perch server CPU per delivered message, saturated (µs)', fmt((cpu * 1e6) / perchMax.deliveredPerSecond, 0)],
    ['load generator CPU per delivered message, saturated (µs)', fmt((perchMax.loadCpu * 1e6) / perchMax.deliveredPerSecond, 0)],
    ['perch, saturated: load generator CPU (cores)', fmt(perchMax.loadCpu, 2)],
    [`perch at ${RATE} msg/s offered: delivered msg/s`, fmt(perchRate.deliveredPerSecond, 0)],
    [`perch at ${RATE} msg/s offered: p50 / p99 ms`, `${fmt(perchRate.p50)} / ${fmt(perchRate.p99)}`],
    ['errors', String(perchMax.errors + perchRate.errors)],
    idleRow,
  ];
  for (const [label, value] of rows) console.log(`  ${label.padEnd(56)} ${value}`);
  console.log('  targets: ≥ 20,000 persisted msg/s with p99 ≤ 50 ms; ratio ≥ 0.25; ≤ 30 KiB RSS per idle connection');
}

try {
  await main();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
