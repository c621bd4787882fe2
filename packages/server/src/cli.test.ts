/**
 * The `perch-server` command: help, argument errors, dev tokens, and demo mode with its HTTP routes
 * and static files, against real processes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import type { Contact, User } from '@perch/protocol';
import { BIN, inProcess, SECRET, spawnServer, TestClient } from './harness.test.util.js';

/** Runs the command to completion. */
function run(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, PERCH_SECRET: undefined, ...env } as NodeJS.ProcessEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** A raw GET that sends `path` exactly as given (fetch would normalise `..`). */
function get(url: string, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('--help, a dev token, and clear errors for bad command lines', async () => {
  const [help, tokenHelp, unknown, noSecret, badNumber, minted] = await Promise.all([
    run(['--help']),
    run(['token', '--help']),
    run(['--prot', '80']),
    run(['--port', '0']),
    run(['--port', 'eighty', '--secret', 's']),
    run(['token', '--sub', 'alice', '--name', 'Alice Liddell', '--title', 'Engineer', '--secret', SECRET]),
  ]);
  assert.equal(help.code, 0);
  for (const flag of ['--port', '--host', '--db', '--origin', '--secret', '--audience', '--issuer', '--demo', '--static', '--hello-timeout-ms', '--heartbeat-ms', '--rate-per-connection', '--rate-per-identity', '--max-buffered-bytes']) {
    assert.ok(help.stdout.includes(flag), `--help documents ${flag}`);
  }
  assert.equal(tokenHelp.code, 0, tokenHelp.stderr);
  assert.match(tokenHelp.stdout, /Token options:\n {2}--sub ID --name NAME/);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /--prot/);
  assert.equal(noSecret.code, 2);
  assert.match(noSecret.stderr, /--secret .*PERCH_SECRET/);
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.stderr, /--port must be a non-negative number/);

  assert.equal(minted.code, 0, minted.stderr);
  const server = await inProcess();
  try {
    const client = await TestClient.signIn(server.url, minted.stdout.trim());
    const { expiresIn, ...session } = client.welcome.session as { expiresIn: number };
    assert.deepEqual(session, { user: { id: 'alice', name: 'Alice Liddell', title: 'Engineer' } });
    assert.ok(expiresIn > 3_590_000 && expiresIn <= 3_600_000, `the dev token lasts an hour by default (${expiresIn} ms left)`);
    client.close();
    const { status } = await get(server.url, '/demo/token?user=alice');
    assert.equal(status, 404, 'no token endpoint outside demo mode');
  } finally {
    await server.close();
  }
});

// Start-up time is measured by `npm run bench:server`, not asserted here.
test('--demo starts with a seeded company, tokens for its people, and the examples served safely', async () => {
  const demo = await spawnServer(['--demo', '--port', '0', '--db', ':memory:']);
  try {
    const people = JSON.parse((await get(demo.url, '/demo/people')).body) as User[];
    assert.ok(people.length >= 10 && new Set(people.map((p) => p.department)).size >= 4);

    const answer = await get(demo.url, '/demo/token?user=alice');
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['cache-control'], 'no-store');
    const { token } = JSON.parse(answer.body) as { token: string };
    const alice = await TestClient.signIn(demo.url, token);
    assert.equal((alice.welcome.session as { user: User }).user.title, 'Engineering manager');
    const conversations = await alice.request('conversations', {});
    assert.ok(conversations.length >= 2 && conversations.every((c) => c.lastSeq > 0));
    const roster = await alice.request('roster', {});
    assert.equal(roster.contacts.length, people.length - 1);
    assert.ok(roster.contacts.every((c: Contact) => c.groups.includes(c.user.department as string)));
    assert.ok((await alice.request('feed', { source: { kind: 'home' }, limit: 20 })).posts.length >= 3);
    alice.close();
    assert.equal((await get(demo.url, '/demo/token?user=nobody')).status, 404);

    const index = await get(demo.url, '/');
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-type']), /^text\/html/);
    assert.equal(index.headers['x-content-type-options'], 'nosniff');
    const page = await get(demo.url, '/memory-chat/index.html');
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    const css = await get(demo.url, '/memory-chat/style.css');
    assert.match(String(css.headers['content-type']), /^text\/css/);
    assert.equal((await get(demo.url, '/memory-chat')).status, 301, 'a folder redirects to its trailing slash');
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/memory-chat/..%2f..%2fpackage.json', '/..%5c..%5cpackage.json', '/%00']) {
      const escaped = await get(demo.url, path);
      assert.equal(escaped.status, 404, `${path} stays inside examples/`);
      assert.ok(!escaped.body.includes('"workspaces"'));
    }
    assert.equal(demo.output().split('\n').filter((line) => line.includes('http://')).length, 1, 'exactly one line carries the URL');
  } finally {
    await demo.stop('SIGTERM');
  }
});

test('--static serves a folder with content types and nosniff, and nothing outside it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'perch-static-'));
  const site = join(dir, 'site');
  mkdirSync(join(site, 'app'), { recursive: true });
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>home</title>');
  writeFileSync(join(site, 'app', 'main.js'), 'export {};');
  writeFileSync(join(site, 'data.bin'), 'raw');
  writeFileSync(join(dir, 'secret.txt'), 'top secret');
  symlinkSync(join(dir, 'secret.txt'), join(site, 'link.txt'));
  const server = await inProcess({ staticDir: site });
  try {
    const home = await get(server.url, '/');
    assert.equal(home.body, '<!doctype html><title>home</title>');
    assert.equal(home.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(home.headers['x-content-type-options'], 'nosniff');
    assert.equal((await get(server.url, '/app/main.js')).headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal((await get(server.url, '/data.bin')).headers['content-type'], 'application/octet-stream');
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/app/%2e%2e/%2e%2e/secret.txt', '/link.txt', '/missing.html', '/%E0%A4%A']) {
      const answer = await get(server.url, path);
      assert.equal(answer.status, 404, path);
      assert.ok(!answer.body.includes('top secret'), path);
    }
    assert.equal((await get(server.url, '/index.html', 'POST')).status, 405);
    const health = await get(server.url, '/healthz');
    assert.deepEqual(JSON.parse(health.body), { ok: true, connections: 0 });
    // A folder given relative to the working directory, as on a command line.
    const relativeServer = await inProcess({ staticDir: relative(process.cwd(), site) });
    try {
      assert.equal((await get(relativeServer.url, '/')).body, '<!doctype html><title>home</title>');
      assert.equal((await get(relativeServer.url, '/../secret.txt')).status, 404);
    } finally {
      await relativeServer.close();
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
