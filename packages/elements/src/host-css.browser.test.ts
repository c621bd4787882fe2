import { expect } from 'chai';
import type { LitElement } from 'lit';
import { cleanup, connected, mount, seededHub, shadowElements, shadowText, until } from './testing.browser.test.js';

/**
 * A host page's CSS reaches the component's own element (never its shadow content). Whatever it
 * does to it — another `display`, no height, `all: unset` — the list inside must stay bounded,
 * so only the rows in view are rendered, and the component must still show its content.
 */
const HOST_CSS = [
  (tag: string) => `${tag} { display: block }`,
  (tag: string) => `${tag} { display: inline; block-size: auto }`,
  (tag: string) => `${tag} { display: contents }`,
  () => '* { all: unset }',
  () => 'html { font-size: 8px }',
  () => 'div { display: none }',
];

const COUNT = 2000;
const frame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));

/** The components with long lists: how to fill one with COUNT items, and the text of the newest. */
const LISTS = [
  {
    tag: 'perch-chat-pane',
    async mount(): Promise<LitElement> {
      const hub = seededHub();
      const { id } = hub.openDirect('alice', 'bob');
      for (let i = 0; i < COUNT; i++) hub.injectMessage(id, i % 3 ? 'bob' : 'alice', `item ${i}`);
      const alice = await connected(hub);
      while (!(await alice.history(id, { limit: 500 })).complete);
      return mount('perch-chat-pane', { conversation: id }, alice);
    },
    shows: `item ${COUNT - 1}`,
  },
  {
    tag: 'perch-feed',
    async mount(): Promise<LitElement> {
      const hub = seededHub();
      let clock = Date.now() - COUNT * 1000;
      hub.now = () => (clock += 1000);
      for (let i = 0; i < COUNT; i++) hub.publish('bob', `item ${i}`);
      const alice = await connected(hub);
      for (let page = await alice.feed({ limit: 500 }); !page.complete; ) {
        page = await alice.feed({ limit: 500, before: alice.timeline.get().at(-1)!.id! });
      }
      return mount('perch-feed', {}, alice);
    },
    shows: `item ${COUNT - 1}`,
  },
  {
    tag: 'perch-buddy-list',
    async mount(): Promise<LitElement> {
      const hub = seededHub();
      for (let i = 0; i < COUNT; i++) {
        hub.addUser({ id: `u${i}`, name: `Item ${String(i).padStart(5, '0')}` });
        hub.addContact('alice', `u${i}`, ['Company']);
      }
      const alice = await connected(hub);
      await until(() => alice.roster.get().length === COUNT + 3, 'the roster');
      return mount('perch-buddy-list', {}, alice);
    },
    shows: 'Item 00000',
  },
];

describe('host page CSS on the element', () => {
  let style: HTMLStyleElement | undefined;
  afterEach(async () => {
    style?.remove();
    await cleanup();
  });

  for (const list of LISTS) {
    for (const rule of HOST_CSS) {
      const css = rule(list.tag);
      it(`<${list.tag}> with ${COUNT} items stays small and readable under "${css}"`, async () => {
        style = document.createElement('style');
        style.textContent = css;
        document.head.append(style);
        const element = await list.mount();
        await until(() => shadowText(element).includes(list.shows), 'the content shows');
        await frame();
        await element.updateComplete;
        expect(shadowElements(element).length, 'shadow DOM elements').to.be.lessThan(400);
        const scroller = element.shadowRoot!.querySelector<HTMLElement>('.v')!;
        expect(scroller.clientHeight, 'the list has a height').to.be.greaterThan(100);
        expect(scroller.clientHeight, 'the list is bounded').to.be.at.most(innerHeight);
        expect(scroller.scrollHeight, 'the list scrolls').to.be.greaterThan(scroller.clientHeight * 2);
        const text = [...element.shadowRoot!.querySelectorAll('.v *')].find((e) => e.textContent === list.shows || e.textContent?.startsWith(`${list.shows}`));
        expect(text?.getBoundingClientRect().height, 'the newest item is laid out').to.be.greaterThan(0);
        // Scrolled half-way, it still renders only a window.
        scroller.scrollTop = scroller.scrollHeight / 2;
        await frame();
        await element.updateComplete;
        await frame();
        expect(shadowElements(element).length, 'after scrolling').to.be.lessThan(400);
        expect(shadowText(element)).to.match(/[Ii]tem \d/);
      });
    }
  }

  it('a page height on the element still sizes the list; --perch-height sets the default', async () => {
    style = document.createElement('style');
    style.textContent = `perch-chat-pane { display: block; block-size: 300px } perch-feed { --perch-height: 250px }
      perch-buddy-list { max-block-size: 200px } .column { display: flex; flex-direction: column; block-size: 180px }
      .column perch-feed { flex: 1 }`;
    document.head.append(style);
    const [pane, feed, list] = [await LISTS[0]!.mount(), await LISTS[1]!.mount(), await LISTS[2]!.mount()];
    const column = document.createElement('div');
    column.className = 'column';
    document.body.append(column);
    const flexed = await LISTS[1]!.mount();
    column.append(flexed);
    await flexed.updateComplete;
    for (const [element, height] of [[pane, 300], [feed, 250], [list, 200], [flexed, 180]] as const) {
      const box = element.getBoundingClientRect();
      expect(box.height, element.localName).to.equal(height);
      // The frame fills the element: the composer / the last line is inside it, not cut off.
      const frame = element.shadowRoot!.querySelector('.f')!.getBoundingClientRect();
      expect(frame.bottom, `${element.localName}'s frame`).to.be.within(box.bottom - 2, box.bottom);
    }
    column.remove();
  });
});
