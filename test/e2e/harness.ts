/**
 * End-to-end harness: a real `perch-server --demo` process (its own SQLite file, stopped and
 * started again on the same port) and Debian's Chromium driven by puppeteer-core. The pages are
 * the examples, served by that server, with the built dist/perch.js (scripts/demo-build.mjs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type ElementHandle, type Page } from 'puppeteer-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** A perch-server process that can be stopped and started again on the same port and database. */
export class ServerProcess {
  readonly dir = mkdtempSync(join(tmpdir(), 'perch-e2e-'));
  port = 0;
  #child: ChildProcess | undefined;
  #log = '';
  readonly #site: string | undefined;

  /**
   * `pages`: extra pages (path → HTML) served beside a copy of examples/, for tests that need a
   * page the examples don't have. Without it the server serves examples/ itself (demo mode).
   */
  constructor(pages?: Record<string, string>) {
    if (pages) {
      this.#site = join(this.dir, 'site');
      cpSync(join(root, 'examples'), this.#site, { recursive: true });
      for (const [path, html] of Object.entries(pages)) {
        mkdirSync(dirname(join(this.#site, path)), { recursive: true });
        writeFileSync(join(this.#site, path), html);
      }
    }
  }

  get url(): string {
    return `http://localhost:${this.port}`;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null;
  }

  /** What the server printed (for failure messages). */
  get log(): string {
    return this.#log;
  }

  /** Starts the server (port 0 the first time: the OS picks one, kept for restarts). */
  async start(): Promise<void> {
    const args = [join(root, 'packages/server/bin/perch-server.mjs'), '--demo', '--port', String(this.port), '--db', join(this.dir, 'perch.db')];
    if (this.#site) args.push('--static', this.#site);
    // A fixed secret: tokens minted before a restart stay valid after it.
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PERCH_SECRET: 'e2e-secret-e2e-secret-e2e-secret!' } });
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`perch-server did not start in 20 s:\n${this.#log}`)), 20_000);
      child.stderr!.on('data', (chunk: Buffer) => (this.#log += chunk.toString()));
      child.stdout!.on('data', (chunk: Buffer) => {
        this.#log += chunk.toString();
        const match = /listening on http:\/\/[^:]+:(\d+)/.exec(this.#log);
        if (match) {
          clearTimeout(timer);
          this.port = Number(match[1]);
          resolve();
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`perch-server exited (${code}) before listening:\n${this.#log}`));
      });
    });
    this.#log = '';
  }

  /** Stops the server: SIGTERM (graceful) by default, or SIGKILL. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  /** Open WebSocket sessions, from /healthz. */
  async connections(): Promise<number> {
    const response = await fetch(`${this.url}/healthz`);
    return ((await response.json()) as { connections: number }).connections;
  }

  async dispose(): Promise<void> {
    await this.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Debian's Chromium with the flags this machine needs. */
export function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Page errors and console errors of a page, to assert on (and to print when a test fails). */
export function watch(page: Page): { errors: string[]; warnings: string[] } {
  const seen = { errors: [] as string[], warnings: [] as string[] };
  page.on('pageerror', (error) => seen.errors.push(`pageerror: ${(error as Error).message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') seen.errors.push(message.text());
    if (message.type() === 'warn') seen.warnings.push(message.text());
  });
  return seen;
}

/**
 * Lets a page reload while its server is down: every HTTP response the page receives is kept,
 * and while `offline` is on, the page's requests are answered from those copies (or refused).
 * WebSockets are not intercepted: they fail against the stopped server as they would.
 */
export async function replayWhenOffline(page: Page): Promise<{ offline: boolean }> {
  const state = { offline: false };
  const copies = new Map<string, { status: number; headers: Record<string, string>; body: Buffer }>();
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    if (!state.offline) return void request.continue();
    const copy = copies.get(request.url());
    if (copy) void request.respond(copy);
    else void request.abort('connectionrefused');
  });
  page.on('response', (response) => {
    if (state.offline || response.request().method() !== 'GET' || response.status() !== 200) return;
    response
      .buffer()
      .then((body) => copies.set(response.url(), { status: 200, headers: response.headers(), body }))
      .catch(() => {});
  });
  return state;
}

/** Polls `check` in Node until it returns true; fails with `what`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeout = 15_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeout) throw new Error(`Timed out after ${timeout} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * An element found through shadow roots: each selector is looked up inside the previous match's
 * shadow root (or the document for the first).
 */
export async function deep(page: Page, ...selectors: string[]): Promise<ElementHandle<Element>> {
  const handle = await page.waitForFunction(
    (path: string[]) => {
      let scope: Document | ShadowRoot = document;
      let found: Element | null = null;
      for (const selector of path) {
        found = scope.querySelector(selector);
        if (!found) return null;
        if (found.shadowRoot) scope = found.shadowRoot;
      }
      return found;
    },
    { timeout: 15_000 },
    selectors,
  );
  return handle as ElementHandle<Element>;
}

/** The visible texts of the elements matching the last selector, through shadow roots. */
export function deepTexts(page: Page, ...selectors: string[]): Promise<string[]> {
  return page.evaluate((path: string[]) => {
    let scopes: Array<Document | ShadowRoot> = [document];
    let found: Element[] = [];
    for (const selector of path) {
      found = scopes.flatMap((scope) => [...scope.querySelectorAll(selector)]);
      scopes = found.map((el) => el.shadowRoot).filter((s): s is ShadowRoot => s !== null);
    }
    return found.map((el) => (el.textContent ?? '').replace(/\s+/g, ' ').trim());
  }, selectors);
}

/** Opens an example page as `user` and waits until Perch is online. */
export async function openAs(page: Page, server: ServerProcess, path: string, user: string): Promise<void> {
  await page.goto(`${server.url}${path}?as=${encodeURIComponent(user)}`);
  await waitOnline(page);
}

/** Waits until the page's Perch client is online and caught up. */
export async function waitOnline(page: Page, timeout = 20_000): Promise<void> {
  await page.waitForFunction(() => (window as unknown as { Perch?: { client?: { status: { get(): { state: string } } } } }).Perch?.client?.status.get().state === 'online', {
    timeout,
  });
}

/** The texts of a conversation's messages in the page's client store, and their states. */
export function storedMessages(page: Page, withUser: string): Promise<Array<{ text: string; state: string; seq?: number }>> {
  return page.evaluate((other: string) => {
    type Client = {
      conversations: { get(): Array<{ id: string; kind: string; members: string[] }> };
      messages(id: string): { get(): Array<{ text: string; state: string; seq?: number }> };
    };
    const client = (window as unknown as { Perch: { client: Client } }).Perch.client;
    const conversation = client.conversations.get().find((c) => c.kind === 'direct' && c.members.includes(other));
    return conversation ? client.messages(conversation.id).get().map(({ text, state, seq }) => ({ text, state, seq })) : [];
  }, withUser);
}
