import { expect } from 'chai';
import type { PostedEventDetail } from '../index.js';
import type { PerchStatusBox } from './status-box.component.js';
import {
  $,
  HOSTILE,
  cleanup,
  connected,
  expectAccessible,
  expectSafe,
  focused,
  mount,
  press,
  seededHub,
  type,
  until,
} from '../testing.browser.test.js';

const box = (client: Awaited<ReturnType<typeof connected>>, attributes: Record<string, string> = {}) =>
  mount<PerchStatusBox>('perch-status-box', attributes, client);
const textarea = (element: Element) => $<HTMLTextAreaElement>(element, 'textarea');
const counter = (element: Element) => $(element, '[part=counter] [aria-hidden]').textContent;

/** Puts `text` in the compose field as typing would. */
function fill(element: Element, text: string): Promise<unknown> {
  textarea(element).value = text;
  textarea(element).dispatchEvent(new InputEvent('input'));
  return (element as PerchStatusBox).updateComplete;
}

describe('<perch-status-box>', () => {
  afterEach(cleanup);

  it('renders at once: an empty composer, a counter and the presence selector', async () => {
    const element = await box(await connected(seededHub()));
    expect(counter(element)).to.equal('0/280');
    expect($<HTMLButtonElement>(element, '[part=post-button]').disabled).to.equal(true);
    expect([...$<HTMLSelectElement>(element, 'select').options].map((o) => o.textContent)).to.deep.equal(['Online', 'Away', 'Busy', 'Invisible']);
  });

  it('counts user-perceived characters and enforces the limit', async () => {
    const element = await box(await connected(seededHub()), { limit: '5' });
    await fill(element, '👍🏽e\u0301👨‍👩‍👧');
    expect(counter(element)).to.equal('3/5');
    expect($(element, '[part=counter] .sr').textContent).to.equal('3 of 5 characters');
    await fill(element, 'abcdef');
    expect(counter(element)).to.equal('6/5');
    expect($(element, '[part=counter]').hasAttribute('data-over')).to.equal(true);
    expect($<HTMLButtonElement>(element, '[part=post-button]').disabled).to.equal(true);
    textarea(element).focus();
    await press('Control+Enter');
    expect(element.perch!.timeline.get()).to.have.length(0);
  });

  it('says politely when the draft goes over the limit and back, once each time, and marks the field invalid', async () => {
    const element = await box(await connected(seededHub()), { limit: '5' });
    const field = textarea(element);
    const live = $(element, `#${field.getAttribute('aria-errormessage')}`);
    expect(live.getAttribute('aria-live')).to.equal('polite');
    expect(field.getAttribute('aria-describedby'), 'the counter describes the field').to.equal('count');
    expect(field.getAttribute('aria-invalid')).to.equal('false');
    const said: string[] = [];
    new MutationObserver((records) => said.push(...records.map(() => live.textContent!))).observe(live, {
      childList: true,
      characterData: true,
      subtree: true,
    });
    field.focus();
    await type('abcde');
    expect(said, 'nothing while within the limit').to.deep.equal([]);
    await type('fgh');
    expect(field.getAttribute('aria-invalid')).to.equal('true');
    expect(said, 'once on crossing, not on every keystroke').to.deep.equal(['Over the character limit.']);
    await press('Backspace', 'Backspace');
    expect(said).to.have.length(1);
    await press('Backspace');
    expect(field.getAttribute('aria-invalid')).to.equal('false');
    expect(said, 'once on coming back').to.deep.equal(['Over the character limit.', 'Within the character limit.']);
    await press('Backspace');
    expect(said).to.have.length(2);
    await expectAccessible(element);
    await type('xyz');
    expect(said).to.have.length(3);
    await expectAccessible(element);
  });

  it('posts with Ctrl+Enter by keyboard alone, and announces it', async () => {
    const client = await connected(seededHub());
    const element = await box(client);
    const posted: Array<CustomEvent<PostedEventDetail>> = [];
    document.body.addEventListener('perch-posted', (e) => posted.push(e), { once: true });
    const before = document.createElement('button');
    document.body.prepend(before);
    before.focus();
    await press('Tab');
    before.remove();
    expect(focused()).to.equal(textarea(element));
    await type('Hello from the keyboard');
    expect(counter(element)).to.equal('23/280');
    await press('Tab');
    expect(focused()?.getAttribute('part')).to.equal('post-button');
    await press('Shift+Tab', 'Control+Enter');
    expect(posted).to.have.length(1);
    expect(posted[0]!.detail.post.text).to.equal('Hello from the keyboard');
    expect(posted[0]!.bubbles && posted[0]!.composed).to.equal(true);
    expect(textarea(element).value).to.equal('');
    await until(() => $(element, '[part=state]').textContent === 'Posted.', 'posted');
    expect(client.timeline.get()[0]!.text).to.equal('Hello from the keyboard');
  });

  it('gives the focus back to the field after Post by keyboard, which disables the button', async () => {
    const client = await connected(seededHub());
    const element = await box(client);
    textarea(element).focus();
    await type('Posted with the button');
    await press('Tab');
    expect(focused()?.getAttribute('part')).to.equal('post-button');
    await press('Enter');
    await element.updateComplete;
    expect($<HTMLButtonElement>(element, '[part=post-button]').disabled).to.equal(true);
    expect(focused()?.localName, 'not dropped to the page').to.equal('textarea');
    expect(client.timeline.get()[0]!.text).to.equal('Posted with the button');
  });

  it('keeps the draft across reloads, per user, and survives a failing localStorage', async () => {
    const hub = seededHub();
    const alice = await connected(hub);
    const first = await box(alice);
    await fill(first, 'half-written thought');
    first.remove();
    const again = await box(alice);
    expect(textarea(again).value).to.equal('half-written thought');
    const bob = await connected(hub, 'bob');
    expect(textarea(await box(bob)).value).to.equal('');
    const setItem = Storage.prototype.setItem;
    Storage.prototype.setItem = () => {
      throw new DOMException('full', 'QuotaExceededError');
    };
    try {
      await fill(again, 'still works');
      expect(counter(again)).to.equal('11/280');
    } finally {
      Storage.prototype.setItem = setItem;
    }
  });

  it('shows a post made offline as queued, then as posted once back online', async () => {
    const hub = seededHub();
    const client = await connected(hub);
    const element = await box(client);
    hub.setOffline(true);
    await until(() => client.status.get().state !== 'online', 'offline');
    await fill(element, 'written on the train');
    $(element, '[part=post-button]').click();
    await element.updateComplete;
    expect($(element, '[part=state]').textContent).to.equal('Queued. It will be posted when you are back online.');
    hub.setOffline(false);
    window.dispatchEvent(new Event('online'));
    await until(() => $(element, '[part=state]').textContent === 'Posted.', 'posted after reconnecting');
  });

  it('says when a post failed; Retry by keyboard posts it and gives the focus back to the field', async () => {
    const hub = seededHub();
    const client = await connected(hub);
    const element = await box(client);
    hub.rejectMessages(() => 'forbidden');
    await fill(element, 'will fail once');
    $(element, '[part=post-button]').click();
    await until(() => $(element, '[part=state]').textContent!.startsWith('Not posted.'), 'failed');
    hub.rejectMessages(undefined);
    $(element, '[part=state] button').focus();
    await press('Enter');
    await until(() => $(element, '[part=state]').textContent === 'Posted.', 'posted after retry');
    expect(focused()?.localName, 'not lost with the Retry button').to.equal('textarea');
  });

  it('sets presence and the personal message, by keyboard', async () => {
    const hub = seededHub();
    const alice = await connected(hub);
    const bob = await connected(hub, 'bob');
    const element = await box(alice);
    $(element, 'select').focus();
    await press('ArrowDown', 'ArrowDown'); // online → away → busy
    await until(() => bob.roster.get().find((e) => e.user.id === 'alice')?.presence.show === 'dnd', 'bob sees alice busy');
    await press('Tab');
    await type('In a meeting');
    await press('Enter');
    await until(() => bob.roster.get().find((e) => e.user.id === 'alice')?.presence.status === 'In a meeting', 'the message');
  });

  it('shows the presence you chose, also on a later page and when set elsewhere', async () => {
    const hub = seededHub();
    const first = await connected(hub);
    await first.setPresence({ show: 'invisible', status: 'Heads down' });
    // Another page of the same user: the roster brings the choice.
    const alice = await connected(hub);
    const element = await box(alice);
    const shown = () => [$<HTMLSelectElement>(element, 'select').value, $<HTMLInputElement>(element, '#message').value];
    await until(() => shown()[0] === 'invisible', 'the select shows invisible');
    expect(shown()).to.deep.equal(['invisible', 'Heads down']);
    await first.setPresence({ show: 'away', status: 'Lunch' });
    await until(() => shown()[0] === 'away' && shown()[1] === 'Lunch', 'a change made on the other page shows here');
  });

  it('has no axe violations, mirrors under dir="rtl" and takes theme tokens', async () => {
    const element = await box(await connected(seededHub()));
    await fill(element, 'x');
    await expectAccessible(element);
    document.documentElement.dir = 'rtl';
    await element.updateComplete;
    const count = $(element, '[part=counter]').getBoundingClientRect();
    const button = $(element, '[part=post-button]').getBoundingClientRect();
    expect(count.left).to.be.greaterThan(button.left);
    element.style.setProperty('--perch-danger', 'rgb(200, 0, 1)');
    element.limit = 0;
    await element.updateComplete;
    expect(getComputedStyle($(element, '[part=counter]')).color).to.equal('rgb(200, 0, 1)');
  });

  it('keeps hostile drafts, posts and personal messages as text', async () => {
    const hub = seededHub();
    const alice = await connected(hub);
    for (const payload of HOSTILE) {
      localStorage.setItem('perch:draft:alice', payload);
      const element = await box(alice);
      expect(textarea(element).value).to.equal(payload);
      $(element, '[part=post-button]').click();
      const input = $<HTMLInputElement>(element, '#message');
      input.value = payload.slice(0, 280);
      input.dispatchEvent(new Event('change'));
      await element.updateComplete;
      expectSafe(element);
      element.remove();
    }
    // All but the 600-letter word, which is over the limit.
    const postable = HOSTILE.filter((p) => p.length <= 280).length;
    await until(() => alice.timeline.get().filter((p) => p.state === 'sent').length === postable, 'all posted');
  });
});
