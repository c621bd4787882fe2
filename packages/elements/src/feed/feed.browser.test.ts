import { expect } from 'chai';
import type { PerchFeed } from './feed.component.js';
import {
  $,
  $$,
  HOSTILE,
  cleanup,
  connected,
  expectAccessible,
  expectSafe,
  focused,
  mount,
  press,
  seededHub,
  shadowElements,
  shadowText,
  type,
  until,
  type MemoryHub,
} from '../testing.browser.test.js';

type Client = Awaited<ReturnType<typeof connected>>;
const feed = (client: Client, attributes: Record<string, string> = {}) => mount<PerchFeed>('perch-feed', attributes, client);
const articles = (element: Element) => $$(element, 'article');
const texts = (element: Element) => $$(element, 'article .t').map((t) => t.textContent);
const frame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));

/** bob and carol posted `count` posts (alternating, oldest first), then alice connected. */
async function scene(count = 3, hub: MemoryHub = seededHub()) {
  // A clock that moves one second per post, so the order is well defined.
  let clock = Date.now() - (count + 50) * 1000;
  hub.now = () => (clock += 1000);
  for (let i = 0; i < count; i++) hub.publish(i % 2 ? 'carol' : 'bob', `post ${i}`);
  const alice = await connected(hub);
  await until(() => alice.timeline.get().length === Math.min(count, 30), 'the first page');
  return { hub, alice };
}

describe('<perch-feed>', () => {
  afterEach(cleanup);

  it('renders the home timeline at once as a WAI-ARIA feed', async () => {
    const { alice } = await scene();
    const element = await feed(alice);
    expect(texts(element)).to.deep.equal(['post 2', 'post 1', 'post 0']);
    expect($(element, '[role=feed]').getAttribute('aria-label')).to.equal('Posts');
    const [first] = articles(element);
    expect(first!.getAttribute('aria-posinset')).to.equal('1');
    expect(first!.getAttribute('aria-labelledby')).to.equal('h0');
    expect($(element, '#h0').textContent).to.contain('Bob Builder');
    expect($(element, '#h0 time').textContent).to.match(/^(\d+ seconds|1 minute) ago$/);
    await until(() => $(element, '[role=status].end').textContent === 'You are all caught up.', 'the end');
    expect(articles(element)[0]!.getAttribute('aria-setsize')).to.equal('3');
    await expectAccessible(element);
  });

  it('keeps new posts from others behind a button, but shows your own at once', async () => {
    const { hub, alice } = await scene();
    const element = await feed(alice);
    hub.publish('bob', 'fresh from bob');
    await until(() => element.shadowRoot!.querySelector('[part=new-posts]'), 'the new-posts button');
    expect($(element, '[part=new-posts]').textContent).to.equal('Show new posts (1)');
    expect(texts(element)[0]).to.equal('post 2');
    alice.post('my own news');
    await until(() => texts(element)[0] === 'my own news', 'own post on top');
    $(element, '[part=new-posts]').click();
    await until(() => texts(element).includes('fresh from bob'), 'shown');
    expect(element.shadowRoot!.querySelector('[part=new-posts]')).to.equal(null);
    expect(focused()?.localName).to.equal('article');
  });

  it('shows your new post whole when you are reading from the top', async () => {
    const { alice } = await scene(40);
    const element = await feed(alice);
    await until(() => texts(element)[0] === 'post 39', 'the newest first');
    alice.post('my own news');
    await until(() => texts(element)[0] === 'my own news', 'own post on top');
    for (let i = 0; i < 3; i++) {
      await frame();
      await element.updateComplete;
    }
    expect($(element, '.v').scrollTop).to.equal(0);
  });

  it('moves between posts with Page Down / Page Up', async () => {
    const { alice } = await scene();
    const element = await feed(alice);
    const before = document.createElement('button');
    document.body.prepend(before);
    before.focus();
    await press('Tab');
    before.remove();
    expect(focused()).to.equal(articles(element)[0]);
    await press('PageDown');
    expect(focused()).to.equal(articles(element)[1]);
    await press('PageDown', 'PageDown');
    expect(focused()).to.equal(articles(element)[2]);
    await press('PageUp');
    expect(focused()).to.equal(articles(element)[1]);
    expect(articles(element).filter((a) => a.tabIndex === 0)).to.deep.equal([articles(element)[1]]);
  });

  it('Tab goes through the posts’ buttons in order while the rendered window moves', async () => {
    const { alice } = await scene(60);
    const element = await feed(alice);
    $$(element, 'article button')[0]!.focus();
    const seen: string[] = [];
    for (let i = 0; i < 40 && focused()?.closest('article'); i++) {
      await press('Tab');
      await frame();
      await element.updateComplete;
      seen.push(`${focused()?.textContent?.trim()} ${focused()?.closest('article')?.querySelector('.t')!.textContent}`);
    }
    // 30 posts (59 to 30) are loaded: Like and Reply of each, newest first, none skipped.
    const expected = Array.from({ length: 40 }, (_, i) => `${i % 2 ? 'Like' : 'Reply'} post ${59 - Math.ceil(i / 2)}`);
    expect(seen).to.deep.equal(expected);
  });

  it('loads older pages as you scroll down, busy while loading', async () => {
    const { hub, alice } = await scene(80);
    const element = await feed(alice);
    const el = $(element, '.v');
    hub.faults.latency = 200;
    const busy: string[] = [];
    const observer = new MutationObserver(() => busy.push($(element, '[role=feed]').getAttribute('aria-busy')!));
    observer.observe($(element, '[role=feed]'), { attributes: true });
    await until(() => {
      el.scrollTop = el.scrollHeight;
      return alice.timeline.get().length === 80;
    }, 'all pages', 10_000);
    observer.disconnect();
    expect(busy).to.include('true');
    await until(() => {
      el.scrollTop = el.scrollHeight;
      return texts(element).includes('post 0');
    }, 'the oldest post');
    await until(() => $(element, '.end').textContent === 'You are all caught up.', 'the end');
  });

  it('likes and replies by keyboard', async () => {
    const { alice } = await scene();
    const element = await feed(alice);
    const like = articles(element)[0]!.querySelector('button')!;
    like.focus();
    await press('Enter');
    await until(() => like.getAttribute('aria-pressed') === 'true', 'liked');
    expect(like.textContent!.trim()).to.equal('Like 1');
    await press('Tab', 'Enter');
    expect(focused()?.localName).to.equal('textarea');
    expect(focused()?.getAttribute('aria-label')).to.equal('Reply to Bob Builder');
    await type('nice one');
    await press('Control+Enter');
    await until(() => alice.timeline.get().some((p) => p.text === 'nice one' && p.replyTo), 'the reply');
    const parent = () => articles(element).find((a) => a.querySelector('.t')!.textContent === 'post 2')!;
    await until(() => parent().querySelectorAll('button')[1]!.textContent!.trim() === 'Reply 1', 'reply count');
    $$(element, 'article button')[1]!.click();
    await element.updateComplete;
    await press('Escape');
    expect(element.shadowRoot!.querySelector('textarea')).to.equal(null);
    expect(focused() === articles(element)[0], 'the focus goes back to the post').to.equal(true);
  });

  it('shows one person’s posts, or the posts that mention you', async () => {
    const hub = seededHub();
    hub.publish('bob', 'hello @alice');
    hub.publish('carol', 'carol alone');
    hub.publish('dave', 'dave to @Alice too');
    const alice = await connected(hub);
    const carol = await feed(alice, { source: 'user:carol' });
    await until(() => texts(carol).length, 'carol’s posts');
    expect(texts(carol)).to.deep.equal(['carol alone']);
    const mentions = await feed(alice, { source: 'mentions' });
    await until(() => texts(mentions).length === 2, 'mentions');
    hub.publish('carol', 'later for @alice');
    await until(() => mentions.shadowRoot!.querySelector('[part=new-posts]'), 'a new mention waits');
  });

  it('says when empty, failed or offline, and retries', async () => {
    const hub = seededHub();
    const alice = await connected(hub);
    const empty = await feed(alice);
    await until(() => $(empty, '.end').textContent === 'No posts yet.', 'empty');
    await expectAccessible(empty); // an empty feed is a group: role=feed needs articles (axe: aria-required-children)
    const failing = await feed(alice, { source: 'user:nobody' });
    await until(() => failing.shadowRoot!.querySelector('.end .err')?.textContent === 'That did not work. Please try again.', 'error');
    hub.addUser({ id: 'nobody', name: 'No Body' });
    $(failing, '.end button').click();
    await until(() => $(failing, '.end').textContent === 'No posts yet.', 'retried');
    hub.setOffline(true);
    await until(() => /Reconnecting|Connecting/.test($(empty, '[part=banner]').textContent!), 'offline banner');
  });

  it('names whom a reply answers, as text only, queued or sent; nothing on other posts', async () => {
    const hub = seededHub();
    hub.addUser({ id: 'carol', name: HOSTILE[0]! });
    const parent = hub.publish('carol', 'lunch?');
    hub.publish('bob', 'me!', parent.id);
    const alice = await connected(hub);
    await until(() => alice.timeline.get().length === 2, 'the first page');
    const element = await feed(alice);
    const line = (text: string) => articles(element).find((a) => a.querySelector('.t')!.textContent === text)?.querySelector('[part=reply-to]');
    expect(line('me!')?.textContent).to.equal(`Replying to ${HOSTILE[0]}`);
    expect(line('lunch?')).to.equal(null);
    expectSafe(element);
    await expectAccessible(element);
    // Queued offline, a reply takes its parent's author from the list; the ack then says it too.
    hub.setOffline(true);
    await until(() => alice.status.get().state !== 'online', 'offline');
    alice.post('count me in', { replyTo: parent.id! });
    await until(() => texts(element)[0] === 'count me in', 'the queued reply');
    expect(line('count me in')?.textContent).to.equal(`Replying to ${HOSTILE[0]}`);
    // A queued reply to a post not in the list says nothing rather than guess.
    alice.post('and to this', { replyTo: 'not-loaded' });
    await until(() => texts(element)[0] === 'and to this', 'the second queued reply');
    expect(line('and to this')).to.equal(null);
    hub.setOffline(false);
    await until(() => alice.timeline.get().find((p) => p.text === 'count me in')?.state === 'sent', 'sent', 10_000);
    expect(line('count me in')!.textContent).to.equal(`Replying to ${HOSTILE[0]}`);
  });

  it('keeps the focus in the feed when Retry is used: on the line that held it, Retry again one Tab away', async () => {
    const hub = seededHub();
    const alice = await connected(hub);
    const element = await feed(alice, { source: 'user:nobody' });
    const retry = () => element.shadowRoot!.querySelector<HTMLElement>('.end button');
    await until(retry, 'the error');
    const first = retry()!;
    first.focus();
    await press('Enter');
    expect(focused()?.className, 'the focus waits on the status line').to.equal('end mu');
    await until(() => retry() && retry() !== first, 'failed again');
    expect(focused()?.className, 'and stays there').to.equal('end mu');
    await press('Tab');
    expect(focused() === retry(), 'Retry again, one Tab away').to.equal(true);
    hub.addUser({ id: 'nobody', name: 'No Body' });
    await press('Enter');
    await until(() => $(element, '.end').textContent === 'No posts yet.', 'retried');
    expect(document.activeElement === element, 'not lost to <body>').to.equal(true);
    expect(focused()?.className).to.equal('end mu');
  });

  it('keeps relative times up to date', async () => {
    const { alice } = await scene(1);
    const timers: Array<{ run: () => void; delay: number }> = [];
    const realTimeout = window.setTimeout;
    const realNow = Date.now;
    window.setTimeout = ((run: () => void, delay: number) => timers.push({ run, delay }) && 0) as typeof setTimeout;
    try {
      const element = await feed(alice);
      expect($(element, 'article time').textContent).to.match(/^(\d+ seconds|1 minute) ago$/);
      Date.now = () => realNow() + 3 * 3600_000;
      timers.find((t) => t.delay <= 60_000 && t.delay > 0)!.run();
      await element.updateComplete;
      expect($(element, 'article time').textContent).to.equal('3 hours ago');
    } finally {
      window.setTimeout = realTimeout;
      Date.now = realNow;
    }
  });

  it('renders 10,000 posts with fewer than 400 elements', async () => {
    const hub = seededHub();
    for (let i = 0; i < 10_000; i++) hub.publish('bob', `post number ${i}`);
    const alice = await connected(hub);
    for (let page = await alice.feed({ limit: 200 }); !page.complete; ) {
      page = await alice.feed({ limit: 200, before: alice.timeline.get().at(-1)!.id! });
    }
    expect(alice.timeline.get()).to.have.length(10_000);
    const element = await feed(alice);
    expect(shadowElements(element).length).to.be.lessThan(400);
    const el = $(element, '.v');
    el.scrollTop = el.scrollHeight / 2;
    await frame();
    await element.updateComplete;
    expect(shadowElements(element).length).to.be.lessThan(400);
    expect(texts(element)).to.not.include('post number 9999');
  });

  it('mirrors under dir="rtl" and takes theme tokens', async () => {
    document.documentElement.dir = 'rtl';
    const { alice } = await scene(1);
    const element = await feed(alice);
    const header = $(element, 'article header');
    expect(header.querySelector('.av')!.getBoundingClientRect().left).to.be.greaterThan(header.querySelector('strong')!.getBoundingClientRect().left);
    element.style.setProperty('--perch-border', 'rgb(3, 4, 5)');
    expect(getComputedStyle(articles(element)[0]!).borderBottomColor).to.equal('rgb(3, 4, 5)');
    await expectAccessible(element);
  });

  it('renders hostile posts and author names as text, and links safely', async () => {
    const hub = seededHub();
    hub.addUser({ id: 'bob', name: HOSTILE[0]!, avatar: HOSTILE[2] });
    hub.addUser({ id: 'carol', name: HOSTILE[4]!, avatar: 'data:image/png;base64,AAAA' });
    const { alice } = await scene(0, hub);
    HOSTILE.forEach((text, i) => hub.publish(i % 2 ? 'carol' : 'bob', text));
    const element = await feed(alice, { 'tag-href': 'https://example.com/tags/{}' });
    await until(() => element.shadowRoot!.querySelector('[part=new-posts]'), 'new posts');
    $(element, '[part=new-posts]').click();
    const el = $(element, '.v');
    let seen = '';
    for (let y = 0; y <= el.scrollHeight; y += 300) {
      el.scrollTop = y;
      await frame();
      await element.updateComplete;
      expectSafe(element);
      seen += texts(element).join('\n') + shadowText(element);
    }
    for (const payload of HOSTILE) expect(seen).to.contain(payload);
    expect(element.shadowRoot!.querySelectorAll('img')).to.have.length(0);
  });
});
