/**
 * The demo's front door and the intranet example against a real perch-server --demo: the sign-in
 * page lists the demo company; the directory groups everyone by department; a person's card has
 * their photo, title, a tel: link and local time, and its Message button opens a chat window
 * (perch.windows.js, loaded on demand under the page's strict CSP); Chinese loads on demand too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, ElementHandle } from 'puppeteer-core';
import { deep, deepTexts, launchBrowser, openAs, ServerProcess, until, watch } from './harness.js';

describe('demo sign-in and the intranet directory', { timeout: 120_000 }, () => {
  const server = new ServerProcess();
  let browser: Browser;

  before(async () => {
    await server.start();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await server.dispose();
  });

  it('the sign-in page lists the demo people and opens an example as the chosen one', async () => {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    const seen = watch(page);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.querySelectorAll('#person option').length >= 12);
    await page.select('#person', 'kofi');
    await page.click('input[value="/intranet/"]');
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/intranet/?as=kofi');
    await page.waitForFunction(() => document.querySelector('[data-demo="me"]')?.textContent === 'Kofi Mensah', { timeout: 20_000 });
    assert.deepEqual(seen.errors, []);
    await context.close();
  });

  it('groups the company by department; a card shows photo, phone, local time, and Message opens a chat', async () => {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    const seen = watch(page);
    await openAs(page, server, '/intranet/', 'bob');
    await until(async () => (await deepTexts(page, 'perch-buddy-list', '[part~=group]')).length >= 5, 'five departments');
    const groups = await deepTexts(page, 'perch-buddy-list', '[part~=group]');
    for (const department of ['Engineering', 'Design', 'Sales', 'Support', 'Operations']) {
      assert.ok(groups.some((g) => g.includes(department)), `a ${department} group in ${JSON.stringify(groups)}`);
    }

    // A click shows the card (the page cancels the list's perch-open-chat and handles it).
    const hana = await page.waitForFunction(() =>
      [...(document.querySelector('perch-buddy-list')?.shadowRoot?.querySelectorAll('[part~=person]') ?? [])].find((row) => row.textContent?.includes('Hana Sato')),
    );
    await (hana as unknown as ElementHandle<Element>).click();
    await until(async () => (await deepTexts(page, 'perch-profile-card', '[part~=name]')).includes('Hana Sato'), 'Hana’s card');
    // The photo is fetched after the card renders: wait for it (or time out) before reading the card.
    await page
      .waitForFunction(() => {
        const img = document.querySelector('perch-profile-card')?.shadowRoot?.querySelector('img');
        return !!img && img.complete && img.naturalWidth > 0;
      }, { timeout: 10_000 })
      .catch(() => {});
    const card = await page.evaluate(() => {
      const root = document.querySelector('perch-profile-card')!.shadowRoot!;
      const img = root.querySelector<HTMLImageElement>('img');
      return {
        photo: img?.src ?? '',
        photoLoaded: !!img && img.complete && img.naturalWidth > 0,
        tel: root.querySelector<HTMLAnchorElement>('a[href^="tel:"]')?.getAttribute('href') ?? '',
        text: root.textContent?.replace(/\s+/g, ' ') ?? '',
      };
    });
    assert.match(card.photo, /\/avatars\/hana\.svg$/);
    assert.ok(card.photoLoaded, 'the photo loads under the page’s CSP');
    assert.equal(card.tel, 'tel:+81355550108');
    assert.match(card.text, /Support lead/);
    assert.match(card.text, /Tokyo/);
    assert.match(card.text, /\d{1,2}:\d{2}/, 'local time');

    const message = await deep(page, 'perch-profile-card', '[part~=message-button]');
    await message.click();
    await deep(page, 'perch-chat-windows', 'section[data-key="u:hana"] perch-chat-pane', '[part~=send-button]:not([disabled])');
    const composer = await deep(page, 'perch-chat-windows', 'section[data-key="u:hana"] perch-chat-pane', '[part~=composer]');
    await composer.type('Can you join the 3pm call?');
    await composer.press('Enter');
    await until(async () => (await deepTexts(page, 'perch-chat-windows', 'perch-chat-pane', '[part~=bubble]')).includes('Can you join the 3pm call?'), 'the message shows');
    assert.deepEqual(seen.errors, [], 'no page error, console error or CSP violation');
    await context.close();
  });

  it('loads Chinese on demand (perch.zh-Hans.js) under Trusted Types', async () => {
    const context = await browser.createBrowserContext();
    const page = await context.newPage();
    const seen = watch(page);
    await openAs(page, server, '/intranet/', 'chen');
    await page.evaluate(() => (window as unknown as { Perch: (c: string, o: object) => Promise<void> }).Perch('update', { locale: 'zh-Hans' }));
    await until(async () => ((await page.evaluate(() => document.querySelector('perch-buddy-list')?.shadowRoot?.querySelector('input')?.placeholder)) ?? '') === '搜索联系人', 'the buddy list speaks Chinese');
    assert.deepEqual(seen.errors, []);
    await context.close();
  });
});
