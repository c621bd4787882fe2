import { expect } from 'chai';
import type { PerchChatPane } from './chat-pane.component.js';
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

const pane = (client: Client, attributes: Record<string, string>) => mount<PerchChatPane>('perch-chat-pane', attributes, client);
const bubbles = (element: Element) => $$(element, '[part=bubble]').map((b) => b.textContent!.trim());
const states = (element: Element) => $$(element, '[part=state]').map((s) => s.textContent!.trim());
const scroller = (element: Element) => $(element, '.v');
const composer = (element: Element) => $<HTMLTextAreaElement>(element, 'textarea');
const frame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));

/** Waits until the scroll position stops moving (rows measured after a scroll adjust it). */
async function settled(element: PerchChatPane): Promise<void> {
  let last = -1;
  while (scroller(element).scrollTop !== last) {
    last = scroller(element).scrollTop;
    await frame();
    await element.updateComplete;
  }
}

/** A hub where bob wrote `texts` to alice (oldest first), then alice and bob connected. */
async function scene(texts: string[] = ['hi alice', 'are you there?'], hub: MemoryHub = seededHub()) {
  const { id } = hub.openDirect('alice', 'bob');
  for (const text of texts) hub.injectMessage(id, 'bob', text);
  const bob = await connected(hub, 'bob');
  const alice = await connected(hub);
  await until(() => alice.messages(id).get().length === Math.min(texts.length, 100), 'alice has the messages');
  return { hub, id, alice, bob };
}

describe('<perch-chat-pane>', () => {
  afterEach(cleanup);

  it('renders the conversation at once as a labelled log, by id or by person', async () => {
    const { id, alice } = await scene();
    const element = await pane(alice, { conversation: id });
    expect(bubbles(element)).to.deep.equal(['hi alice', 'are you there?']);
    const log = $(element, '[role=log]');
    expect(log.getAttribute('aria-label')).to.equal('Messages with Bob Builder');
    const byPerson = await pane(alice, { with: 'bob' });
    expect(bubbles(byPerson)).to.deep.equal(['hi alice', 'are you there?']);
    const fresh = await pane(alice, { with: 'carol' });
    // Focus and typing go to the composer while the new chat is still being opened.
    fresh.focus();
    await until(() => fresh.shadowRoot!.activeElement === composer(fresh), 'focus() focuses the composer');
    composer(fresh).value = 'hello carol';
    await until(() => !$<HTMLButtonElement>(fresh, '[part~=send-button]').disabled, 'the chat with carol is opened');
    expect(composer(fresh).value).to.equal('hello carol');
    expect(alice.conversations.get().some((c) => c.members.includes('carol'))).to.equal(true);
    await expectAccessible(element);
  });

  it('separates days, groups consecutive messages and marks the first unread', async () => {
    const hub = seededHub();
    const now = Date.now();
    const times = [now - 3 * 864e5, now - 3 * 864e5 + 60_000, now - 1000, now - 500];
    let next = 0;
    hub.now = () => times[Math.min(next, 3)]!;
    const { id } = hub.openDirect('alice', 'bob');
    hub.injectMessage(id, 'bob', 'old one');
    next++;
    hub.injectMessage(id, 'bob', 'old two');
    next++;
    hub.injectMessage(id, 'alice', 'today mine');
    next++;
    hub.injectMessage(id, 'bob', 'today new');
    hub.now = Date.now;
    const alice = await connected(hub);
    await until(() => alice.messages(id).get().length === 4, 'messages');
    const element = await pane(alice, { conversation: id });
    const separators = $$(element, '.sep:not(.new)').map((s) => s.textContent);
    expect(separators).to.have.length(2);
    expect(separators[1]).to.equal('today');
    const items = $$(element, '[part=message]');
    expect(items[1]!.classList.contains('g'), 'the second old message is grouped').to.equal(true);
    expect(items[2]!.classList.contains('g')).to.equal(false);
    expect($(element, '[part=unread-divider]').closest('[part=message]')).to.equal(items[3]);
    expect(items[2]!.querySelector('.who')!.textContent).to.contain('You');
  });

  it('sends with Enter, adds a line with Shift+Enter, tells the other side it is typing', async () => {
    const { id, alice, bob } = await scene();
    const element = await pane(alice, { conversation: id });
    $(element, '[role=log]').focus();
    await press('Tab');
    expect(focused()).to.equal(composer(element));
    await type('first line');
    await until(() => bob.typing(id).get().includes('alice'), 'bob sees alice typing');
    await press('Shift+Enter');
    await type('second line');
    await press('Enter');
    expect(composer(element).value).to.equal('');
    await until(() => bubbles(element).includes('first line\nsecond line'), 'the message shows');
    await until(() => states(element).at(-1)!.startsWith('Sent') || states(element).at(-1)!.startsWith('Delivered'), 'sent');
    await bob.markRead(id);
    await until(() => states(element).at(-1)!.startsWith('Read'), 'read by bob');
    await until(() => !bob.typing(id).get().includes('alice'), 'typing off after sending');
  });

  it('shows who is typing, and announces new messages from others', async () => {
    const { id, alice, bob } = await scene();
    const element = await pane(alice, { conversation: id });
    await bob.setTyping(id, true);
    await until(() => $(element, '[part=typing]').textContent === '\u2068Bob Builder\u2069 is typing…', 'typing shown');
    bob.send(id, 'one more thing');
    await until(() => $(element, '[role=status].info').textContent === '\u2068Bob Builder\u2069: one more thing', 'announced');

    // Another conversation in the same pane: the old announcement goes, and its last message is no news.
    const carolChat = await alice.openDirect('carol');
    element.setAttribute('conversation', carolChat.id);
    await until(() => $(element, '[role=log]').getAttribute('aria-label') === 'Messages with Carol Danvers', 'carol’s chat');
    await element.updateComplete;
    expect($(element, '[role=status].info').textContent).to.equal('');
    element.setAttribute('conversation', id);
    await until(() => bubbles(element).includes('one more thing'), 'back to bob’s chat');
    await element.updateComplete;
    expect($(element, '[role=status].info').textContent, 'switching back announces nothing').to.equal('');
  });

  it('announces the first message of a conversation that was empty when shown', async () => {
    const { alice, hub } = await scene();
    const carol = await connected(hub, 'carol');
    const { id } = await alice.openDirect('carol');
    const element = await pane(alice, { conversation: id });
    await until(() => $(element, '[role=log]').getAttribute('aria-label') === 'Messages with Carol Danvers', 'carol’s chat');
    await until(() => carol.conversations.get().length > 0, 'carol has the conversation');
    carol.send(id, 'hello there');
    await until(() => $(element, '[role=status].info').textContent === '\u2068Carol Danvers\u2069: hello there', 'announced');
  });

  it('isolates names in the typing and announcement lines, so a U+202E in one reverses nothing after it', async () => {
    const hub = seededHub();
    hub.addUser({ id: 'bob', name: '\u202Eevil' });
    hub.addUser({ id: 'carol', name: 'Carol \u202Eevil' });
    const [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map((user) => connected(hub, user)));
    const { id } = await alice!.createGroup('Trio', ['bob', 'carol']);
    alice!.send(id, 'hi both');
    const element = await pane(alice!, { conversation: id });
    await until(() => bubbles(element).includes('hi both'), 'the first message');
    await until(() => bob!.conversations.get().length && carol!.conversations.get().length, 'bob and carol are in the group');
    await bob!.setTyping(id, true);
    await carol!.setTyping(id, true);
    await until(() => $(element, '[part=typing]').textContent!.endsWith('typing…'), 'typing shown');
    expect($(element, '[part=typing]').textContent).to.equal('\u2068\u202Eevil\u2069 and \u2068Carol \u202Eevil\u2069 are typing…');
    bob!.send(id, 'hello');
    await until(() => $(element, '[role=status].info').textContent!.endsWith('hello'), 'announced');
    expect($(element, '[role=status].info').textContent).to.equal('\u2068\u202Eevil\u2069: hello');
  });

  it('shows a failed message with Retry, which sends it', async () => {
    const { hub, id, alice } = await scene();
    hub.rejectMessages(() => 'forbidden');
    const element = await pane(alice, { conversation: id });
    alice.send(id, 'will fail');
    await until(() => states(element).at(-1)?.startsWith('Not sent'), 'failed');
    hub.rejectMessages(undefined);
    const retry = $$<HTMLButtonElement>(element, '[part=state] button').find((b) => b.textContent === 'Retry')!;
    retry.focus();
    await press('Enter');
    await until(() => /^(Sent|Delivered|Read)/.test(states(element).at(-1)!), 'sent after retry');
    expect(focused()?.querySelector('[part=bubble]')?.textContent, 'the focus stays on the message, not lost with the button').to.equal('will fail');
  });

  it('keeps the focus on the same message’s button while new messages move the rendered window', async () => {
    const { id, alice } = await scene();
    for (let i = 0; i < 40; i++) alice.send(id, `mine ${i}`);
    const element = await pane(alice, { conversation: id });
    const owner = () => focused()?.closest('[part=message]')?.querySelector('[part=bubble]')!.textContent;
    await until(() => bubbles(element).includes('mine 39') && $$(element, '.act').length > 20, 'all sent');
    await settled(element);
    $$(element, '.act').at(-1)!.focus();
    expect([focused()?.textContent, owner()]).to.deep.equal(['Delete', 'mine 39']);
    for (let i = 40; i < 50; i++) alice.send(id, `mine ${i}`);
    await until(() => bubbles(element).includes('mine 49'), 'the new messages show');
    await settled(element);
    expect([focused()?.textContent, owner()]).to.deep.equal(['Delete', 'mine 39']);
    const target = alice.messages(id).get().find((m) => m.text === 'mine 39')!.clientId;
    await press('Enter');
    await until(() => alice.messages(id).get().some((m) => m.deleted), 'a message deleted');
    expect(alice.messages(id).get().filter((m) => m.deleted).map((m) => m.clientId)).to.deep.equal([target]);
  });

  it('takes one Tab from the log to the composer; ↑/↓ move between messages, and Tab enters the focused one’s Edit and Delete', async () => {
    const { id, alice } = await scene();
    for (let i = 0; i < 5; i++) alice.send(id, `mine ${i}`);
    const element = await pane(alice, { conversation: id });
    await until(() => $$(element, '.act').length === 10, 'Edit and Delete on each of mine');
    const log = $(element, '[role=log]');
    log.focus();
    await press('Tab');
    expect(focused() === composer(element), 'past the log in one press').to.equal(true);
    await press('Shift+Tab');
    expect(focused() === log).to.equal(true);
    const owner = () => focused()?.closest('[part=message]')?.querySelector('[part=bubble]')!.textContent;
    await press('ArrowUp');
    expect(owner(), 'the newest message').to.equal('mine 4');
    await press('ArrowUp', 'ArrowUp', 'ArrowDown');
    expect([focused()?.getAttribute('part'), owner()]).to.deep.equal(['message', 'mine 3']);
    await press('Tab');
    expect([focused()?.textContent, owner()]).to.deep.equal(['Edit', 'mine 3']);
    await press('Tab');
    expect([focused()?.textContent, owner()]).to.deep.equal(['Delete', 'mine 3']);
    await press('Tab');
    expect(focused() === composer(element)).to.equal(true);
    await press('Shift+Tab', 'Shift+Tab', 'Enter');
    expect([composer(element).value, composer(element).getAttribute('aria-label')]).to.deep.equal(['mine 3', 'Edit your message']);
    await expectAccessible(element);
  });

  it('edits and deletes your messages; ↑ edits the last, Escape cancels', async () => {
    const { id, alice, bob } = await scene();
    alice.send(id, 'tpyo');
    const element = await pane(alice, { conversation: id });
    await until(() => $$(element, '.act').length === 2, 'edit and delete buttons');
    composer(element).focus();
    await press('ArrowUp');
    expect(composer(element).value).to.equal('tpyo');
    expect(composer(element).getAttribute('aria-label')).to.equal('Edit your message');
    await press('Escape');
    expect(composer(element).value).to.equal('');
    expect(composer(element).getAttribute('aria-label')).to.equal('Message');
    $$(element, '.act')[0]!.click();
    composer(element).select();
    await type('typo');
    await press('Enter');
    await until(() => bubbles(element).includes('typo (edited)'), 'edited');
    await until(() => bob.messages(id).get().some((m) => m.text === 'typo'), 'bob sees the edit');
    $$(element, '.act')[1]!.click();
    await until(() => bubbles(element).includes('Message deleted'), 'deleted');
  });

  it('keeps the draft while you edit a message, and puts it back after Escape or Save', async () => {
    const { id, alice, bob } = await scene();
    alice.send(id, 'tpyo');
    const element = await pane(alice, { conversation: id });
    await until(() => $$(element, '.act').length === 2, 'edit and delete buttons');
    composer(element).focus();
    await type('half a thought');
    $$(element, '.act')[0]!.click();
    await element.updateComplete;
    expect(composer(element).value).to.equal('tpyo');
    await press('Escape');
    expect(composer(element).value, 'back after Escape').to.equal('half a thought');
    $$(element, '.act')[0]!.click();
    composer(element).select();
    await type('typo');
    await press('Enter');
    expect(composer(element).value, 'back after Save').to.equal('half a thought');
    await until(() => bob.messages(id).get().some((m) => m.text === 'typo'), 'bob sees the edit');
    expect(bob.messages(id).get().some((m) => m.text.includes('half')), 'the draft was not sent').to.equal(false);
  });

  it('never sends a draft or an edit to another conversation shown in the same pane', async () => {
    const { id, alice } = await scene();
    alice.send(id, 'tpyo');
    const carol = await alice.openDirect('carol');
    const element = await pane(alice, { conversation: id });
    composer(element).focus();
    await type('half written for bob');
    element.setAttribute('conversation', carol.id);
    await until(() => $(element, '[role=log]').getAttribute('aria-label') === 'Messages with Carol Danvers', 'carol’s chat');
    expect(composer(element).value, 'bob’s draft is not offered to carol').to.equal('');
    element.setAttribute('conversation', id);
    await until(() => $$(element, '.act').length === 2, 'back to bob’s chat');
    $$(element, '.act')[0]!.click();
    await element.updateComplete;
    expect(composer(element).getAttribute('aria-label')).to.equal('Edit your message');
    element.setAttribute('conversation', carol.id);
    await until(() => $(element, '[role=log]').getAttribute('aria-label') === 'Messages with Carol Danvers', 'carol’s chat again');
    expect([composer(element).value, composer(element).getAttribute('aria-label')], 'no edit of bob’s message here').to.deep.equal(['', 'Message']);
    composer(element).focus();
    await type('for carol');
    await press('Enter');
    await until(() => alice.messages(carol.id).get().some((m) => m.text === 'for carol'), 'sent to carol');
    expect(alice.messages(carol.id).get().map((m) => m.text)).to.deep.equal(['for carol']);
  });

  it('stops a message over the 10,000-character limit in the composer, instead of failing to send it', async () => {
    const { id, alice } = await scene();
    const element = await pane(alice, { conversation: id });
    composer(element).focus();
    // As a paste would: the text is inserted by the browser's editing, which honours maxlength.
    document.execCommand('insertText', false, `${'x'.repeat(9_990)} and more than that`);
    expect(composer(element).value).to.have.length(10_000);
    await press('Enter');
    await until(() => alice.messages(id).get().some((m) => m.text.length === 10_000), 'sent');
    expect($(element, '[role=alert]').textContent, 'no error').to.equal('');
  });

  it('keeps the log in view when a long message from someone else is announced', async () => {
    const { id, alice, bob } = await scene();
    const element = await pane(alice, { conversation: id });
    const height = scroller(element).clientHeight;
    expect(height).to.be.greaterThan(100);
    bob.send(id, `${'a long story '.repeat(300)}https://example.com/${'x'.repeat(500)}`);
    await until(() => $(element, '[role=status].info').textContent!.startsWith('\u2068Bob Builder\u2069: a long story'), 'announced');
    await element.updateComplete;
    expect(scroller(element).clientHeight, 'the log keeps its height').to.equal(height);
  });

  it('marks messages read when the page comes back into view', async () => {
    const { id, alice } = await scene();
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    try {
      const element = await pane(alice, { conversation: id });
      for (let i = 0; i < 3; i++) {
        await frame();
        await element.updateComplete;
      }
      expect(alice.conversations.get()[0]!.unread, 'not read while the page is hidden').to.equal(2);
    } finally {
      delete (document as { visibilityState?: unknown }).visibilityState;
    }
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
    await until(() => alice.conversations.get()[0]!.unread === 0, 'marked read once visible');
  });

  it('marks messages read once scrolled to them, and shows the unread divider', async () => {
    const { id, alice } = await scene();
    expect(alice.conversations.get()[0]!.unread).to.equal(2);
    const element = await pane(alice, { conversation: id });
    expect($(element, '[part=unread-divider]').textContent).to.equal('New messages');
    await until(() => alice.conversations.get()[0]!.unread === 0, 'marked read');
  });

  it('loads older history at the top without moving what the reader sees', async () => {
    const texts = Array.from({ length: 300 }, (_, i) => `message ${i}`);
    const { alice, id, hub } = await scene(texts);
    const element = await pane(alice, { conversation: id });
    const el = scroller(element);
    await until(() => el.scrollHeight - el.scrollTop - el.clientHeight < 4 && bubbles(element).includes('message 299'), 'at the newest');
    // Scroll to the oldest loaded message; history (slowed down) loads above it.
    hub.faults.latency = 300;
    el.scrollTop = 0;
    await frame();
    await element.updateComplete;
    expect($(element, '.info').textContent).to.equal('Loading earlier messages…');
    const first = $$(element, '[part=bubble]')[0]!;
    const text = first.textContent;
    expect(text).to.equal('message 200');
    const top = first.getBoundingClientRect().top;
    await until(() => alice.messages(id).get().length > 100, 'older messages loaded');
    await settled(element);
    const same = $$(element, '[part=bubble]').find((b) => b.textContent === text)!;
    expect(same, 'the message read before is still rendered').to.not.equal(undefined);
    expect(Math.abs(same.getBoundingClientRect().top - top)).to.be.lessThan(3);
    hub.faults.latency = 0;
    // Going on to the top loads the rest.
    await until(() => {
      el.scrollTop = 0;
      return alice.messages(id).get().length === 300;
    }, 'everything loaded at the top', 10_000);
    await until(() => bubbles(element)[0] === 'message 0', 'the oldest shows');
  });

  it('follows new messages only while the reader is at the bottom', async () => {
    const texts = Array.from({ length: 60 }, (_, i) => `message ${i}`);
    const { alice, id, hub } = await scene(texts);
    const element = await pane(alice, { conversation: id });
    const el = scroller(element);
    const atEnd = () => el.scrollHeight - el.scrollTop - el.clientHeight < 4;
    await until(atEnd, 'at the end');
    hub.injectMessage(id, 'bob', 'new at the bottom');
    await until(() => bubbles(element).includes('new at the bottom') && atEnd(), 'still at the end');
    el.scrollTop = el.scrollTop - 400;
    await frame();
    await element.updateComplete;
    await settled(element);
    const top = el.scrollTop;
    hub.injectMessage(id, 'bob', 'another');
    await until(() => alice.messages(id).get().some((m) => m.text === 'another'), 'arrived');
    await frame();
    await element.updateComplete;
    expect(el.scrollTop).to.equal(top);
    expect(atEnd()).to.equal(false);
  });

  it('renders 10,000 messages with fewer than 400 elements', async () => {
    const hub = seededHub();
    const { id } = hub.openDirect('alice', 'bob');
    for (let i = 0; i < 10_000; i++) hub.injectMessage(id, i % 3 ? 'bob' : 'alice', `message number ${i}`);
    const alice = await connected(hub);
    while (!(await alice.history(id, { limit: 500 })).complete);
    expect(alice.messages(id).get()).to.have.length(10_000);
    const element = await pane(alice, { conversation: id });
    await until(() => bubbles(element).includes('message number 9999'), 'the newest');
    expect(shadowElements(element).length).to.be.lessThan(400);
    scroller(element).scrollTop = scroller(element).scrollHeight / 2;
    await frame();
    await element.updateComplete;
    expect(shadowElements(element).length).to.be.lessThan(400);
  });

  it('mirrors under dir="rtl", says when offline, and takes theme tokens', async () => {
    document.documentElement.dir = 'rtl';
    const { hub, id, alice } = await scene();
    alice.send(id, 'mine');
    const element = await pane(alice, { conversation: id });
    await until(() => bubbles(element).includes('mine'), 'mine');
    const [theirs, , own] = $$(element, '[part=bubble]');
    expect(own!.getBoundingClientRect().left).to.be.lessThan(theirs!.getBoundingClientRect().left);
    element.style.setProperty('--perch-accent', 'rgb(1, 100, 1)');
    expect(getComputedStyle(own!).backgroundColor).to.equal('rgb(1, 100, 1)');
    hub.setOffline(true);
    await until(() => /Reconnecting|Connecting/.test($(element, '[part=banner]').textContent!), 'the banner');
    await expectAccessible(element);
  });

  it('shows the focus ring of a link in your own bubble, on the accent colour', async () => {
    const { id, alice } = await scene();
    alice.send(id, 'see https://example.com/x');
    for (const theme of ['light', 'dark']) {
      const element = await pane(alice, { conversation: id, theme });
      await until(() => element.shadowRoot!.querySelector('.me a'), 'the link');
      const link = $(element, '.me a');
      link.focus();
      await press('Shift+Tab', 'Tab');
      expect(focused() === link, 'the link has the focus').to.equal(true);
      const ring = getComputedStyle(link).outlineColor;
      expect(ring, `${theme}: the ring differs from the bubble`).to.not.equal(getComputedStyle(link.closest('.b')!).backgroundColor);
      expect(ring, `${theme}: the ring is the bubble's text colour`).to.equal(getComputedStyle(link.closest('.b')!).color);
    }
  });

  it('renders hostile messages and names as text, links safely, mentions by template', async () => {
    const hub = seededHub();
    hub.addUser({ id: 'bob', name: HOSTILE[0]!, avatar: HOSTILE[2] });
    const { id, alice } = await scene([...HOSTILE, 'hi @alice #tag https://example.com/x'], hub);
    const element = await pane(alice, { conversation: id, 'mention-href': 'https://example.com/u/{}' });
    const el = scroller(element);
    for (let y = 0; y <= el.scrollHeight; y += 200) {
      el.scrollTop = y;
      await frame();
      await element.updateComplete;
      expectSafe(element);
    }
    expect(shadowText(element)).to.contain(HOSTILE[1]);
    const hrefs = $$(element, 'a').map((a) => a.getAttribute('href'));
    expect(hrefs).to.include.members(['https://example.com/u/alice', 'https://example.com/x', 'mailto:a@example.com']);
    expect($(element, '.tag').textContent).to.equal('#tag');
  });
});
