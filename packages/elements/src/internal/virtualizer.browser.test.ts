import { expect } from 'chai';
import { css, html, LitElement } from 'lit';
import { cleanup, mount, shadowElements, until } from '../testing.browser.test.js';
import { base } from './styles.js';
import { define } from './register.js';
import { Virtualizer } from './virtualizer.js';

/** A list of `items` (taller every third one) in a 300px scroller. */
class VList extends LitElement {
  static override styles = [base, css`:host { display: flex; flex-direction: column; block-size: 300px; } .tall { block-size: 90px; } .i { block-size: 30px; }`];
  items: string[] = [];
  v = new Virtualizer(this, 40, this.localName === 'perch-test-sticky');
  protected override render() {
    this.v.window(this.items);
    return html`<div class="v"><div>${this.items
      .slice(this.v.start, this.v.end)
      .map((key) => html`<div class="i ${Number(key.slice(1)) % 3 ? '' : 'tall'}" data-key=${key}>${key}</div>`)}</div></div>`;
  }
}
class StickyList extends VList {}
define('perch-test-vlist', VList);
define('perch-test-sticky', StickyList);

const keys = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `k${from + i}`);
const scroller = (list: Element) => list.shadowRoot!.querySelector<HTMLElement>('.v')!;
const items = (list: Element) => [...scroller(list).firstElementChild!.children];
const item = (list: Element, key: string) => list.shadowRoot!.querySelector<HTMLElement>(`[data-key="${key}"]`);
const frame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));

async function listOf(tag: string, items: string[]): Promise<VList> {
  const list = await mount<VList>(tag);
  list.items = items;
  list.requestUpdate();
  await list.updateComplete;
  await frame();
  await list.updateComplete;
  return list;
}

describe('Virtualizer', () => {
  afterEach(cleanup);

  it('renders a window of 10,000 items with few elements, also after scrolling', async () => {
    const list = await listOf('perch-test-vlist', keys(0, 10_000));
    expect(shadowElements(list).length).to.be.lessThan(60);
    expect(item(list, 'k0')).to.not.equal(null);
    scroller(list).scrollTop = 200_000;
    await until(() => !item(list, 'k0'), 'the window moves');
    expect(shadowElements(list).length).to.be.lessThan(60);
    const rendered = items(list);
    const box = scroller(list).getBoundingClientRect();
    expect(rendered.some((el) => el.getBoundingClientRect().top <= box.top && el.getBoundingClientRect().bottom > box.top), 'the viewport is covered').to.equal(true);
  });

  it('scrolls to an index and renders it', async () => {
    const list = await listOf('perch-test-vlist', keys(0, 10_000));
    list.v.scrollToIndex(6000);
    await list.updateComplete;
    const target = item(list, 'k6000')!;
    expect(target).to.not.equal(null);
    const box = scroller(list).getBoundingClientRect();
    const rect = target.getBoundingClientRect();
    expect(rect.top).to.be.at.least(box.top - 1);
    expect(rect.bottom).to.be.at.most(box.bottom + 1);
  });

  it('keeps what the reader sees in place when items are prepended', async () => {
    const list = await listOf('perch-test-vlist', keys(1000, 1100));
    scroller(list).scrollTop = 500;
    await frame();
    await list.updateComplete;
    const anchor = items(list).find((el) => el.getBoundingClientRect().top >= scroller(list).getBoundingClientRect().top)!;
    const before = anchor.getBoundingClientRect().top;
    const key = anchor.getAttribute('data-key')!;
    list.items = [...keys(0, 1000), ...list.items];
    list.requestUpdate();
    await list.updateComplete;
    await frame();
    await list.updateComplete;
    expect(item(list, key), 'the anchor is still rendered').to.not.equal(null);
    expect(Math.abs(item(list, key)!.getBoundingClientRect().top - before)).to.be.lessThan(2);
  });

  it('sticks to the end while the reader is there, and not after they scroll away', async () => {
    const list = await listOf('perch-test-sticky', keys(0, 500));
    const el = scroller(list);
    const atEnd = () => el.scrollHeight - el.scrollTop - el.clientHeight < 4;
    await until(atEnd, 'starts at the end');
    expect(item(list, 'k499')).to.not.equal(null);
    list.items = [...list.items, 'k500', 'k501'];
    list.requestUpdate();
    await until(() => item(list, 'k501') && atEnd(), 'follows new items');
    el.scrollTop = 100;
    await frame();
    await list.updateComplete;
    const top = el.scrollTop;
    list.items = [...list.items, 'k502'];
    list.requestUpdate();
    await list.updateComplete;
    await frame();
    expect(el.scrollTop).to.equal(top);
    expect(atEnd()).to.equal(false);
  });
});
