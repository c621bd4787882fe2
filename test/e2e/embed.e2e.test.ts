/**
 * The script-tag bundle end to end: examples/script-tag/ (one <script src="/perch.js"> under a
 * strict CSP with Trusted Types) served by a real perch-server, in real Chromium, with people in
 * separate browser profiles. The server is stopped and started again, pages are reloaded with
 * messages still in their outbox, and one person opens two tabs.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, ElementHandle, Page } from 'puppeteer-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deep, deepTexts, launchBrowser, openAs, replayWhenOffline, root, ServerProcess, storedMessages, until, waitOnline, watch } from './harness.js';

const PAGE = '/script-tag/';

/**
 * Runs in the page before any of its scripts (a string: tsx would add helpers to a function that
 * the page does not have). Notes the globals and the built-ins' own properties, reports CSP
 * violations to the console, adopts the hostile stylesheet, and on a `perch-e2e:report` message
 * logs what was added or changed since. It adds no global of its own.
 */
const INSTRUMENT = `(() => {
  const builtins = [['window', window], ['Object', Object], ['Object.prototype', Object.prototype], ['Array.prototype', Array.prototype],
    ['Function.prototype', Function.prototype], ['String.prototype', String.prototype], ['Promise', Promise],
    ['Element.prototype', Element.prototype], ['HTMLElement.prototype', HTMLElement.prototype], ['Node.prototype', Node.prototype],
    ['EventTarget.prototype', EventTarget.prototype], ['Document.prototype', Document.prototype],
    ['CustomElementRegistry.prototype', CustomElementRegistry.prototype], ['JSON', JSON], ['Math', Math], ['console', console],
    ['Symbol', Symbol], ['WeakMap.prototype', WeakMap.prototype], ['Map.prototype', Map.prototype], ['ShadowRoot.prototype', ShadowRoot.prototype]];
  const snapshot = () => builtins.map(([name, object]) => [name, Object.getOwnPropertyNames(object).map((key) => {
    const d = Object.getOwnPropertyDescriptor(object, key);
    return key + ':' + (typeof d.value === 'function' ? String(d.value).length : '') + ':' + (d.get ? 'g' : '') + (d.set ? 's' : '');
  })]);
  const before = snapshot();
  addEventListener('message', (event) => {
    if (event.data !== 'perch-e2e:report') return;
    const now = snapshot();
    // Puppeteer's own bindings (its ARIA query handler) are not the page's.
    const added = now[0][1].filter((k) => !before[0][1].includes(k)).map((k) => k.split(':')[0])
      .filter((k) => !/^(puppeteer_|__ariaQuerySelector)/.test(k));
    const changed = now.slice(1).flatMap(([name, keys], i) => {
      const was = before[i + 1][1];
      return [...keys.filter((k) => !was.includes(k)), ...was.filter((k) => !keys.includes(k))].map((k) => name + '.' + k);
    });
    console.info('perch-e2e:report ' + JSON.stringify({ added, changed }));
  });
  document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));
  const hostile = new CSSStyleSheet();
  hostile.replaceSync('* { all: unset } html { font-size: 8px } div { display: none }');
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, hostile];
})()`;
const tag = () => Math.random().toString(36).slice(2, 8);

/** The script-tag page, mistakenly loading perch.js twice (as a CMS plugin and a theme might). */
const twice = readFileSync(join(root, 'examples/script-tag/index.html'), 'utf8').replace(
  '<script src="/perch.js" data-theme="auto" async></script>',
  '<script src="/perch.js" data-theme="auto" async></script>\n    <script src="/perch.js?copy=2" defer></script>',
);

/**
 * The script-tag page on a site that uses Lit itself (page-lit.js stands in for it: it creates
 * Lit's "lit-html" Trusted Types policy), before or after perch.js, under a policy that lists each
 * name once and has no 'allow-duplicates'.
 */
const example = readFileSync(join(root, 'examples/script-tag/index.html'), 'utf8');
const pageLit = "// The page's own Lit, as far as Trusted Types can tell.\nwindow.pageLitPolicy = trustedTypes.createPolicy('lit-html', { createHTML: (s) => s }).name;\n";
const withPageLit = (first: boolean) => {
  const perch = '<script src="/perch.js" data-theme="auto"></script>';
  const own = '<script src="/script-tag/page-lit.js"></script>';
  const page = example.replace('trusted-types perch perch-html', 'trusted-types lit-html perch perch-html');
  return page.replace('<script src="/perch.js" data-theme="auto" async></script>', first ? own + perch : perch + own);
};

/** A stranger's page that loads perch.js as a module, where it cannot see its own tag. */
const asModule = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Module</title><link rel="icon" href="/favicon.svg">
  <script type="module" src="/perch.js" data-token-url="/demo/token?user=kim"></script></head>
  <body><perch-feed></perch-feed></body></html>`;

describe('script-tag embed against a real server', { timeout: 180_000 }, () => {
  const server = new ServerProcess({
    'script-tag/twice.html': twice,
    'script-tag/module.html': asModule,
    'script-tag/page-lit.js': pageLit,
    'script-tag/lit-first.html': withPageLit(true),
    'script-tag/lit-after.html': withPageLit(false),
  });
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  /** A page in a fresh browser profile (its own IndexedDB, locks and cookies): one person. */
  async function person(user: string, replayable = false): Promise<{ page: Page; seen: ReturnType<typeof watch> }> {
    const context = await browser.createBrowserContext();
    contexts.push(context);
    const page = await context.newPage();
    const seen = watch(page);
    if (replayable) replay = await replayWhenOffline(page);
    await openAs(page, server, PAGE, user);
    return { page, seen };
  }
  let replay = { offline: false };

  /** Opens the chat with `other` in a Perch chat window and returns its composer. */
  async function chatWith(page: Page, other: string) {
    await page.evaluate((id: string) => (window as unknown as { Perch: (c: string, id: string) => void }).Perch('open', id), other);
    await deep(page, 'perch-chat-windows', `section[data-key="u:${other}"] perch-chat-pane`, '[part~=send-button]:not([disabled])');
    return deep(page, 'perch-chat-windows', `section[data-key="u:${other}"] perch-chat-pane`, '[part~=composer]');
  }

  const texts = async (page: Page, other: string, prefix: string) =>
    (await storedMessages(page, other)).filter((m) => m.text.startsWith(prefix));

  before(async () => {
    await server.start();
    browser = await launchBrowser();
  });

  // A failed test must not leave the server down for the next one.
  // Each test closes its people's pages, so connection counts start from zero.
  afterEach(async () => {
    if (!server.running) await server.start();
    for (const context of contexts.splice(0)) await context.close().catch(() => {});
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await server.dispose();
  });

  it('two people chat across two pages, with typing and read receipts', async () => {
    const alice = await person('alice');
    const bob = await person('bob');
    const toBob = await chatWith(alice.page, 'bob');
    await chatWith(bob.page, 'alice');

    const text = `Fresh beans arrived ${tag()}`;
    await toBob.type(text.slice(0, 8));
    await until(async () => (await deepTexts(bob.page, 'perch-chat-windows', 'perch-chat-pane', '[part~=typing]')).some((t) => t.includes('Alice')), 'Bob sees “Alice is typing”');
    await toBob.type(text.slice(8));
    await toBob.press('Enter');

    await until(async () => (await deepTexts(bob.page, 'perch-chat-windows', 'perch-chat-pane', '[part~=bubble]')).includes(text), 'the message shows in Bob’s window');
    // Bob's window is open and visible: the message is read, and Alice sees the receipt.
    await until(async () => (await texts(alice.page, 'bob', text)).map((m) => m.state).join() === 'read', 'Alice sees her message read');
    const states = await deepTexts(alice.page, 'perch-chat-windows', 'perch-chat-pane', '[part~=message][data-state=read]');
    assert.ok(states.some((s) => s.includes(text)), 'the read state shows on Alice’s message');
    assert.deepEqual((await texts(bob.page, 'alice', text)).length, 1, 'Bob holds the message once');
    assert.deepEqual([...alice.seen.errors, ...bob.seen.errors], []);
  });

  it('a status posted on one page appears in the other’s feed', async () => {
    const alice = await person('alice');
    const dana = await person('dana'); // everyone follows Alice
    // Each page's feed loads its first page (a page's only tab asks while it becomes the leader).
    for (const page of [alice.page, dana.page]) {
      await until(
        async () => (await deepTexts(page, 'perch-feed', '[part~=post]')).length > 0 && !(await deepTexts(page, 'perch-feed', '.end'))[0]?.includes('Loading'),
        'the feed’s first page loads',
        10_000,
      );
      assert.deepEqual(await deepTexts(page, 'perch-feed', '.end .err'), [], 'the feed loaded without an error');
    }
    const status = `Cupping at four today ${tag()}`;
    const box = await deep(alice.page, 'perch-status-box', 'textarea');
    await box.type(status);
    await alice.page.keyboard.down('Control');
    await alice.page.keyboard.press('Enter');
    await alice.page.keyboard.up('Control');
    // Live posts wait behind "Show new posts" so reading is never pushed down.
    const more = await deep(dana.page, 'perch-feed', '[part~=new-posts]');
    await more.click();
    await until(async () => (await deepTexts(dana.page, 'perch-feed', '[part~=post]')).some((t) => t.includes(status)), 'Dana’s feed shows Alice’s status');
    assert.deepEqual([...alice.seen.errors, ...dana.seen.errors], []);
  });

  it('server stopped, messages composed, server back: each delivered once, in order', async () => {
    const alice = await person('alice');
    const chen = await person('chen');
    const toChen = await chatWith(alice.page, 'chen');
    await server.stop();
    await until(() => alice.page.evaluate(() => (window as unknown as { Perch: { client: { status: { get(): { state: string } } } } }).Perch.client.status.get().state !== 'online'), 'Alice sees the connection lost');

    const prefix = `offline-${tag()}`;
    const sent = [1, 2, 3, 4, 5].map((n) => `${prefix} #${n}`);
    for (const text of sent) {
      await toChen.type(text);
      await toChen.press('Enter');
    }
    await until(async () => (await texts(alice.page, 'chen', prefix)).length === 5, 'five messages in Alice’s outbox');
    assert.deepEqual((await texts(alice.page, 'chen', prefix)).map((m) => m.state), ['pending', 'pending', 'pending', 'pending', 'pending']);

    await server.start();
    await until(async () => (await texts(chen.page, 'alice', prefix)).length >= 5, 'Chen receives the five messages', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // a duplicate would arrive by now
    assert.deepEqual((await texts(chen.page, 'alice', prefix)).map((m) => m.text), sent, 'once each, in order, at Chen');
    await until(async () => (await texts(alice.page, 'chen', prefix)).every((m) => m.state !== 'pending'), 'Alice’s outbox drains');
    assert.deepEqual((await texts(alice.page, 'chen', prefix)).map((m) => m.text), sent, 'once each, in order, at Alice');
  });

  it('a page reloaded with messages still in its outbox delivers them once', async () => {
    const alice = await person('alice', true);
    const emil = await person('emil');
    const toEmil = await chatWith(alice.page, 'emil');
    await server.stop();
    const prefix = `reload-${tag()}`;
    const sent = [1, 2, 3].map((n) => `${prefix} #${n}`);
    for (const text of sent) {
      await toEmil.type(text);
      await toEmil.press('Enter');
    }
    await until(async () => (await texts(alice.page, 'emil', prefix)).length === 3, 'three messages in Alice’s outbox');
    // The page comes from the stopped server: the browser answers the reload from its copies.
    replay.offline = true;
    await alice.page.reload();
    await alice.page.waitForFunction(() => (window as unknown as { Perch?: { client?: unknown } }).Perch?.client !== undefined);
    await until(async () => (await texts(alice.page, 'emil', prefix)).length === 3, 'the outbox is back after the reload');
    assert.deepEqual((await texts(alice.page, 'emil', prefix)).map((m) => m.state), ['pending', 'pending', 'pending'], 'still undelivered after the reload');

    // The server is back, and the page loads from it again — the outbox still holds all three
    // (the replayed page could not connect: Chromium keeps it off the local network).
    replay.offline = false;
    await server.start();
    await alice.page.reload();
    await waitOnline(alice.page, 30_000);
    await until(async () => (await texts(emil.page, 'alice', prefix)).length >= 3, 'Emil receives them', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual((await texts(emil.page, 'alice', prefix)).map((m) => m.text), sent);
    await until(async () => (await texts(alice.page, 'emil', prefix)).every((m) => m.state !== 'pending'), 'Alice’s outbox drains');
    assert.deepEqual((await texts(alice.page, 'emil', prefix)).map((m) => m.text), sent);
  });

  it('two tabs of one person share one connection and both show every message', async () => {
    await until(async () => (await server.connections()) === 0, 'earlier tests’ connections are closed');
    const fatima = await person('fatima');
    const second = await fatima.page.browserContext().newPage();
    const secondSeen = watch(second);
    await second.goto(`${server.url}${PAGE}?as=fatima`);
    await waitOnline(second);
    const gabriel = await person('gabriel');
    await until(async () => (await server.connections()) === 2, 'the server counts two connections', 5_000).catch(() => {});
    const leaders = await Promise.all([fatima.page, second].map((p) => p.evaluate(() => (window as unknown as { Perch: { client: { status: { get(): { leader: boolean } } } } }).Perch.client.status.get().leader)));
    assert.deepEqual(leaders.sort(), [false, true], 'one tab holds the connection');
    assert.equal(await server.connections(), 2, 'one connection for Fatima’s two tabs, one for Gabriel');

    const prefix = `tabs-${tag()}`;
    const toFatima = await chatWith(gabriel.page, 'fatima');
    await toFatima.type(`${prefix} from Gabriel`);
    await toFatima.press('Enter');
    const fromSecond = await chatWith(second, 'gabriel');
    await fromSecond.type(`${prefix} from Fatima’s second tab`);
    await fromSecond.press('Enter');
    const both = [`${prefix} from Gabriel`, `${prefix} from Fatima’s second tab`];
    for (const [name, page] of [['Fatima’s first tab', fatima.page], ['Fatima’s second tab', second], ['Gabriel', gabriel.page]] as const) {
      const other = page === gabriel.page ? 'fatima' : 'gabriel';
      await until(async () => (await texts(page, other, prefix)).filter((m) => m.state !== 'pending').length === 2, `${name} holds both messages`).catch(async (error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify(await texts(page, other, prefix))}`);
      });
      assert.deepEqual((await texts(page, other, prefix)).map((m) => m.text).sort(), [...both].sort());
    }
    assert.deepEqual(secondSeen.errors, []);
  });

  it('works under the strict CSP and hostile page CSS, adds no global but Perch, patches no built-in', async () => {
    const context = await browser.createBrowserContext();
    contexts.push(context);
    const page = await context.newPage();
    const seen = watch(page);
    // Before any page script: note the globals and the built-ins' own properties, count CSP
    // violations, and adopt the hostile stylesheet. No global of the test's own is added.
    await page.evaluateOnNewDocument(INSTRUMENT);
    const reports: string[] = [];
    page.on('console', (m) => {
      if (m.text().startsWith('perch-e2e:report ')) reports.push(m.text().slice('perch-e2e:report '.length));
    });
    await openAs(page, server, PAGE, 'hana');

    // It renders intact: people in the buddy list, posts in the feed, sizes unaffected by html { font-size: 8px }.
    await until(async () => (await deepTexts(page, 'perch-buddy-list', '[part~=person]')).some((t) => t.includes('Ivan Petrov')), 'the buddy list shows people');
    await until(async () => (await deepTexts(page, 'perch-feed', '[part~=post]')).length > 0, 'the feed shows posts');
    const box = await page.evaluate(() => {
      const list = document.querySelector('perch-buddy-list')!;
      const person = list.shadowRoot!.querySelector('[part~=person]')!;
      return { list: list.getBoundingClientRect().toJSON() as DOMRect, person: person.getBoundingClientRect().toJSON() as DOMRect, font: getComputedStyle(person).fontSize };
    });
    assert.ok(box.list && box.list.height > 100 && box.list.width > 100, `the buddy list has room: ${JSON.stringify(box.list)}`);
    assert.ok(box.person && box.person.height >= 16, `a person's row is readable: ${JSON.stringify(box.person)}`);
    assert.ok(parseFloat(box.font) >= 12, `text is not shrunk by html { font-size: 8px }: ${box.font}`);

    // A chat opens from the buddy list (Enter on a person) and a message goes out.
    const ivan = await page.waitForFunction(
      () => [...(document.querySelector('perch-buddy-list')?.shadowRoot?.querySelectorAll('[part~=person]') ?? [])].find((row) => row.textContent?.includes('Ivan Petrov')),
    );
    await (ivan as unknown as ElementHandle<Element>).click();
    await deep(page, 'perch-chat-windows', 'perch-chat-pane', '[part~=send-button]:not([disabled])');
    const composer = await deep(page, 'perch-chat-windows', 'perch-chat-pane', '[part~=composer]');
    const text = `Hostile page hello ${tag()}`;
    await composer.type(text);
    await composer.press('Enter');
    await until(async () => (await deepTexts(page, 'perch-chat-windows', 'perch-chat-pane', '[part~=message][data-state=sent], [part~=message][data-state=delivered], [part~=message][data-state=read]')).some((t) => t.includes(text)), 'the message is sent');
    const rendered = await page.evaluate(() => document.querySelector('perch-chat-windows')?.shadowRoot?.querySelector('perch-chat-pane')?.shadowRoot?.querySelectorAll('*').length ?? 0);
    assert.ok(rendered > 10 && rendered < 400, `the chat pane renders a bounded DOM (${rendered} elements)`);

    await page.evaluate(() => window.postMessage('perch-e2e:report', '*'));
    await until(() => reports.length > 0, 'the globals report');
    const report = JSON.parse(reports[0]!) as { added: string[]; changed: string[] };
    assert.deepEqual(report.added, ['Perch'], 'the only new global is Perch');
    assert.deepEqual(report.changed, [], 'no built-in was patched');
    assert.deepEqual(seen.errors, [], 'no CSP violation, page error or console error');
  });

  it('loaded as type="module", where it cannot read its tag, perch.js says so instead of doing nothing silently', async () => {
    const context = await browser.createBrowserContext();
    contexts.push(context);
    const page = await context.newPage();
    const seen = watch(page);
    await page.goto(`${server.url}/script-tag/module.html`);
    await page.waitForFunction(() => typeof (window as unknown as { Perch?: unknown }).Perch === 'function');
    assert.deepEqual(seen.warnings.filter((w) => w.startsWith('Perch:')), ['Perch: load perch.js with a classic <script>, not type="module", or it cannot read its data-* settings.']);
    assert.deepEqual(seen.errors, []);
  });

  for (const [name, path] of [['before', 'lit-first'], ['after', 'lit-after']]) {
    it(`on a page with its own Lit (loaded ${name} perch.js) under Trusted Types, both keep their policy`, async () => {
      assert.ok(example.includes('trusted-types perch perch-html'), 'the example lists Perch\'s policies');
      assert.ok(withPageLit(true).includes('page-lit.js'), 'the fixture loads the page\'s Lit');
      const context = await browser.createBrowserContext();
      contexts.push(context);
      const page = await context.newPage();
      const seen = watch(page);
      await openAs(page, server, `/script-tag/${path}.html`, 'julia');
      assert.equal(await page.evaluate(() => (window as unknown as { pageLitPolicy?: string }).pageLitPolicy), 'lit-html', 'the page\'s Lit has its policy');
      await until(async () => (await deepTexts(page, 'perch-buddy-list', '[part~=person]')).length > 0, 'Perch renders');
      assert.deepEqual(seen.errors, [], 'no exception, no CSP violation');
    });
  }

  it('loading perch.js twice under the strict CSP warns once and changes nothing', async () => {
    assert.ok(twice.includes('/perch.js?copy=2'), 'the fixture loads the script twice');
    const context = await browser.createBrowserContext();
    contexts.push(context);
    const page = await context.newPage();
    const seen = watch(page);
    await openAs(page, server, '/script-tag/twice.html', 'julia');
    await until(() => seen.warnings.some((w) => w.includes('already running')), 'the second copy warns');
    assert.equal(seen.warnings.filter((w) => w.includes('already running')).length, 1);
    await until(async () => (await deepTexts(page, 'perch-buddy-list', '[part~=person]')).length > 0, 'the first copy works');
    assert.deepEqual(seen.errors, [], 'no exception, no CSP violation');
  });
});
