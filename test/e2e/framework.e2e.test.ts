/**
 * The React example end to end: examples/framework/ (bundled by its build.mjs) served by a real
 * `perch-server --demo` on a free port, in Debian's Chromium, with Alice and Bob in separate
 * browser contexts. Checks that React hands the client to the Perch elements as a property, that
 * `perch-open-chat` from the buddy list opens the chat pane through React state (click and
 * Enter), that a message crosses from one page to the other, that signing out disconnects, and
 * that nothing logs an error or breaks the page's CSP.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser, ElementHandle, Page } from 'puppeteer-core';
import { launchBrowser, root, ServerProcess } from './harness.js';

/** Runs in every page before its scripts: reports CSP violations as console errors. */
const REPORT_CSP = `document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));`;

/** Everything that went wrong in the pages: errors, console errors and warnings, failed requests. */
const problems: string[] = [];

/** A new browser context (its own storage, as another person's browser) with one page, watched. */
async function openPage(browser: Browser, who: string): Promise<Page> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: 1300, height: 1000 });
  page.on('pageerror', (error) => problems.push(`${who}: page error: ${(error as Error).message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warn') problems.push(`${who}: console.${message.type()}: ${message.text()}`);
  });
  page.on('requestfailed', (request) => problems.push(`${who}: request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${who}: HTTP ${response.status()} ${response.url()}`);
  });
  await page.evaluateOnNewDocument(REPORT_CSP);
  return page;
}

/** Waits until the page's header says the client is online (caught up). */
async function waitOnline(page: Page): Promise<void> {
  await page.waitForSelector('.connection [data-state="online"]', { timeout: 20_000 });
}

/** A person's row in the page's buddy list, by name. */
async function buddy(page: Page, name: string): Promise<ElementHandle<Element>> {
  const handle = await page.waitForFunction(
    (name: string) =>
      [...(document.querySelector('perch-buddy-list')?.shadowRoot?.querySelectorAll('[part~="person"]') ?? [])].find(
        (row) => row.querySelector('.name')?.textContent === name,
      ),
    { timeout: 15_000 },
    name,
  );
  return handle as ElementHandle<Element>;
}

/** What the test reads of a Perch element (its own types live in @perch/elements). */
type PerchElementLike = Element & { client?: unknown; source?: string; with?: string };

/** Texts of the elements matching `selector` in the shadow root of the page's `host` element. */
function shadowTexts(page: Page, host: string, selector: string): Promise<string[]> {
  return page.evaluate(
    (host: string, selector: string) =>
      [...(document.querySelector(host)?.shadowRoot?.querySelectorAll(selector) ?? [])].map((el) => (el.textContent ?? '').replace(/\s+/g, ' ').trim()),
    host,
    selector,
  );
}

/** Waits until the chat pane of `page` shows a bubble with exactly `text`. */
async function waitForBubble(page: Page, text: string): Promise<void> {
  await page.waitForFunction(
    (text: string) => [...(document.querySelector('perch-chat-pane')?.shadowRoot?.querySelectorAll('[part~="bubble"]') ?? [])].some((b) => b.textContent?.trim() === text),
    { timeout: 15_000 },
    text,
  );
}

describe('examples/framework (React 19) against a real server', { timeout: 240_000 }, () => {
  const server = new ServerProcess();
  let browser: Browser | undefined;
  let alice: Page;
  let bob: Page;

  before(async () => {
    // The page loads dist/main.js. `npm test` builds it (scripts/demo-build.mjs) before this
    // stage; run on its own, the test bundles it when it is missing.
    if (!existsSync(join(root, 'examples/framework/dist/main.js'))) {
      const { build } = (await import(pathToFileURL(join(root, 'examples/framework/build.mjs')).href)) as { build: () => Promise<string> };
      await build();
    }
    await server.start();
    browser = await launchBrowser();
    alice = await openPage(browser, 'alice');
    bob = await openPage(browser, 'bob');
    await Promise.all([alice.goto(`${server.url}/framework/?user=alice`), bob.goto(`${server.url}/framework/?user=bob`)]);
    await Promise.all([waitOnline(alice), waitOnline(bob)]);
  });

  // Runs even when `before` or a test failed: nothing is left running.
  after(async () => {
    await browser?.close().catch(() => browser?.process()?.kill('SIGKILL'));
    await server.dispose();
  });

  it('renders the seeded buddies and feed, with the client handed over as a property', async () => {
    await buddy(alice, 'Bob Okafor');
    const buddies = await shadowTexts(alice, 'perch-buddy-list', '[part~="person"] .name');
    assert.equal(buddies.length, 11, `everyone else in the demo company: ${buddies.join(', ')}`);
    assert.ok(!buddies.includes('Alice Liddell'), 'not herself');

    await alice.waitForFunction(() => (document.querySelector('perch-feed')?.shadowRoot?.querySelectorAll('[part~="post"]').length ?? 0) >= 3, { timeout: 15_000 });
    const posts = await shadowTexts(alice, 'perch-feed', '[part~="post"] p');
    assert.ok(posts.some((text) => text.startsWith('Release 2.4 is out')), `Alice's seeded post: ${posts.join(' | ')}`);

    const elements = await alice.evaluate(() =>
      [...document.querySelectorAll<PerchElementLike>('#app *')]
        .filter((el) => el.localName.startsWith('perch-'))
        .map((el) => ({ tag: el.localName, property: typeof el.client, attribute: el.hasAttribute('client') })),
    );
    assert.deepEqual(
      elements.map((e) => e.tag),
      ['perch-status-box', 'perch-buddy-list', 'perch-feed'],
    );
    for (const { tag, property, attribute } of elements) {
      assert.equal(property, 'object', `<${tag}>.client is the client object`);
      assert.equal(attribute, false, `<${tag}> has no client attribute`);
    }
    assert.deepEqual(await alice.$eval('perch-feed', (el: PerchElementLike) => [el.source, el.hasAttribute('source')]), ['home', false], 'source is set as a property');
  });

  it('opens a chat pane from a click on a buddy (perch-open-chat → React state)', async () => {
    await (await buddy(alice, 'Bob Okafor')).click();
    await alice.waitForSelector('perch-chat-pane');
    assert.equal(await alice.$eval('#chat-title', (el) => el.textContent), 'Chat with Bob Okafor');
    assert.deepEqual(await alice.$eval('perch-chat-pane', (el: PerchElementLike) => [el.with, el.hasAttribute('with'), typeof el.client]), ['bob', false, 'object']);
    await waitForBubble(alice, 'Yes, all green. Took 42 minutes.');
    const bubbles = await shadowTexts(alice, 'perch-chat-pane', '[part~="bubble"]');
    assert.deepEqual(bubbles.slice(0, 3), ['Morning Bob! Did the migration finish overnight?', 'Yes, all green. Took 42 minutes.', 'Great, let us ship it after standup.']);
  });

  it('opens a chat pane with Enter on a buddy (keyboard)', async () => {
    await (await buddy(bob, 'Alice Liddell')).focus();
    await bob.keyboard.press('Enter');
    await bob.waitForSelector('perch-chat-pane');
    assert.equal(await bob.$eval('#chat-title', (el) => el.textContent), 'Chat with Alice Liddell');
    await waitForBubble(bob, 'Morning Bob! Did the migration finish overnight?');
  });

  it('delivers a message sent in Alice’s page to Bob’s page', async () => {
    const text = `Lunch at noon? ${Math.random().toString(36).slice(2, 8)}`;
    await alice.waitForFunction(() => document.querySelector('perch-chat-pane')?.shadowRoot?.querySelector<HTMLButtonElement>('[part~=send-button]')?.disabled === false, { timeout: 15_000 });
    await alice.evaluate(() => document.querySelector('perch-chat-pane')!.shadowRoot!.querySelector('textarea')!.focus());
    await alice.keyboard.type(text);
    await alice.keyboard.press('Enter');
    await waitForBubble(alice, text);
    await waitForBubble(bob, text);
    const copies = (await shadowTexts(bob, 'perch-chat-pane', '[part~="bubble"]')).filter((bubble) => bubble === text);
    assert.equal(copies.length, 1, 'exactly once');
  });

  it('switches the open chat when another buddy is chosen (the `with` property changes)', async () => {
    await (await buddy(alice, 'Chen Wei')).click();
    await alice.waitForFunction(() => document.querySelector<PerchElementLike>('perch-chat-pane')?.with === 'chen', { timeout: 5_000 });
    assert.equal(await alice.$eval('#chat-title', (el) => el.textContent), 'Chat with Chen Wei');
  });

  it('signs out (the client disconnects) and signs in as someone else from the select', async () => {
    assert.equal(await server.connections(), 2, 'Alice and Bob are connected');
    const [signOut] = await alice.$$('xpath/.//button[normalize-space()="Sign out"]');
    await signOut!.click();
    await alice.waitForSelector('select[name="user"]');
    assert.equal(new URL(alice.url()).searchParams.get('user'), null, 'the user is gone from the URL');
    assert.equal(await alice.$$eval('perch-feed, perch-buddy-list, perch-chat-pane', (els) => els.length), 0);
    const started = Date.now();
    while ((await server.connections()) !== 1 && Date.now() - started < 10_000) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(await server.connections(), 1, 'Alice’s connection is closed');

    const options = await alice.$$eval('select[name="user"] option', (els) => els.map((el) => (el as HTMLOptionElement).value));
    assert.equal(options.length, 12, 'the demo company, from /demo/people');
    await alice.select('select[name="user"]', 'hana');
    await (await alice.$('button[type="submit"]'))!.click();
    await waitOnline(alice);
    assert.equal(new URL(alice.url()).searchParams.get('user'), 'hana');
    assert.equal(await alice.$eval('.bar strong', (el) => el.textContent), 'Hana Sato');
    assert.equal(await server.connections(), 2);
  });

  it('logged no errors or warnings, failed no request and broke no CSP rule', () => {
    assert.deepEqual(problems, []);
  });
});
