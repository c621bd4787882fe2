import { expect } from 'chai';
import type { UserEventDetail } from '../index.js';
import type { PerchBuddyList } from './buddy-list.component.js';
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
} from '../testing.browser.test.js';

type Client = Awaited<ReturnType<typeof connected>>;
const list = (client: Client, attributes: Record<string, string> = {}) => mount<PerchBuddyList>('perch-buddy-list', attributes, client);
const rows = (element: Element) => $$(element, '[role=treeitem]');
const names = (element: Element) => rows(element).map((row) => row.querySelector('.name')!.textContent);
const focusedName = () => focused()?.querySelector('.name')?.textContent;

/** Collects the `type` events that reach the document body. */
function collect(type: 'perch-open-chat' | 'perch-open-profile'): Array<CustomEvent<UserEventDetail>> {
  const events: Array<CustomEvent<UserEventDetail>> = [];
  document.body.addEventListener(type, (e) => events.push(e));
  return events;
}

/** alice's list, with bob online (busy, with a message) and carol seen earlier. */
async function scene(): Promise<{ alice: Client; bob: Client; element: PerchBuddyList }> {
  const hub = seededHub();
  const carol = await connected(hub, 'carol');
  await carol.disconnect();
  const bob = await connected(hub, 'bob');
  await bob.setPresence({ show: 'dnd', status: 'In a meeting' });
  const alice = await connected(hub);
  await until(() => alice.roster.get().find((e) => e.user.id === 'bob')?.presence.show === 'dnd', 'bob busy');
  return { alice, bob, element: await list(alice) };
}

describe('<perch-buddy-list>', () => {
  afterEach(cleanup);

  it('renders the roster at once: groups, online first, presence, message and last seen', async () => {
    const { element } = await scene();
    expect(names(element)).to.deep.equal(['Team', 'Bob Builder', 'Carol Danvers', 'Friends', 'Dave Grohl']);
    const [team, bob, carol] = rows(element);
    expect(team!.textContent).to.contain('1/2');
    expect(bob!.textContent).to.contain('Busy').and.contain('In a meeting');
    expect(bob!.querySelector('.dot')!.getAttribute('data-show')).to.equal('dnd');
    expect(carol!.textContent).to.contain('Offline').and.match(/Last seen (now|\d+ seconds? ago)/);
  });

  it('follows the WAI-ARIA tree pattern with one tab stop', async () => {
    const { element } = await scene();
    const tree = $(element, '[role=tree]');
    expect(tree.getAttribute('aria-label')).to.equal('Contacts');
    const [team, bob] = rows(element);
    expect([team!.getAttribute('aria-level'), team!.getAttribute('aria-expanded'), team!.getAttribute('aria-posinset'), team!.getAttribute('aria-setsize')]).to.deep.equal(['1', 'true', '1', '2']);
    expect([bob!.getAttribute('aria-level'), bob!.getAttribute('aria-posinset'), bob!.getAttribute('aria-setsize')]).to.deep.equal(['2', '1', '2']);
    expect(rows(element).filter((row) => row.tabIndex === 0)).to.have.length(1);
    await expectAccessible(element);
  });

  it('is fully usable by keyboard: arrows, Home/End, groups, Enter and Shift+F10', async () => {
    const { alice, element } = await scene();
    const chats = collect('perch-open-chat');
    const profiles = collect('perch-open-profile');
    $(element, 'input').focus();
    await press('Tab');
    expect(focusedName()).to.equal('Team');
    await press('ArrowDown');
    expect(focusedName()).to.equal('Bob Builder');
    await press('ArrowDown', 'ArrowDown');
    expect(focusedName()).to.equal('Friends');
    await press('ArrowLeft');
    expect(focused()!.getAttribute('aria-expanded')).to.equal('false');
    expect(names(element)).to.not.include('Dave Grohl');
    await press('ArrowRight');
    expect(names(element)).to.include('Dave Grohl');
    await press('ArrowRight');
    expect(focusedName()).to.equal('Dave Grohl');
    await press('ArrowLeft');
    expect(focusedName()).to.equal('Friends');
    await press('Home');
    expect(focusedName()).to.equal('Team');
    await press('End');
    expect(focusedName()).to.equal('Dave Grohl');
    await press('Shift+F10');
    expect(profiles.map((e) => e.detail.userId)).to.deep.equal(['dave']);
    await press('ArrowUp', 'ArrowUp', 'ArrowUp');
    expect(focusedName()).to.equal('Bob Builder');
    await press('ContextMenu');
    expect(profiles.map((e) => e.detail.userId)).to.deep.equal(['dave', 'bob']);
    await press('Enter');
    expect(chats.map((e) => e.detail.userId)).to.deep.equal(['bob']);
    expect(chats[0]!.cancelable && chats[0]!.composed && chats[0]!.bubbles).to.equal(true);
    await until(() => alice.conversations.get().some((c) => c.members.includes('bob')), 'the chat is opened');
    expect(rows(element).filter((row) => row.tabIndex === 0).map((row) => row.querySelector('.name')!.textContent)).to.deep.equal(['Bob Builder']);
  });

  it('has type-ahead: typed letters go to the next row that starts with them, wrapping around', async () => {
    const hub = seededHub();
    hub.addUser({ id: 'dan', name: 'Dan Brown' });
    hub.addContact('alice', 'dan', ['Friends']);
    const alice = await connected(hub);
    const element = await list(alice);
    const chats = collect('perch-open-chat');
    const pause = () => new Promise((resolve) => setTimeout(resolve, 600));
    expect(names(element)).to.deep.equal(['Team', 'Bob Builder', 'Carol Danvers', 'Friends', 'Dan Brown', 'Dave Grohl']);
    rows(element)[0]!.focus();
    await type('d');
    expect(focusedName(), 'one letter').to.equal('Dan Brown');
    await type('d');
    expect(focusedName(), 'the same letter again goes on to the next match').to.equal('Dave Grohl');
    await type('d');
    expect(focusedName(), 'and round again').to.equal('Dan Brown');
    await pause();
    await type('f');
    expect(focusedName(), 'group rows too').to.equal('Friends');
    await pause();
    await type('dav');
    expect(focusedName(), 'letters typed together make one prefix').to.equal('Dave Grohl');
    await pause();
    await type('B');
    expect(focusedName(), 'wraps to the top, whatever the case').to.equal('Bob Builder');
    await pause();
    await type('x');
    expect(focusedName(), 'no match: the focus stays').to.equal('Bob Builder');
    await pause();
    await type('da');
    await pause();
    await type('v');
    expect(focusedName(), 'after a pause, typing starts afresh').to.equal('Dan Brown');
    for (const combo of ['Control+c', 'Alt+c', 'Meta+c']) {
      await pause();
      await press(combo);
      expect(focusedName(), `${combo} is not type-ahead`).to.equal('Dan Brown');
    }
    await pause();
    await type('c');
    expect(focusedName()).to.equal('Carol Danvers');
    await press(' ');
    expect(chats.map((e) => e.detail.userId), 'Space still opens a chat').to.deep.equal(['carol']);
    $(element, 'input').focus();
    await type('d');
    expect(focused()!.localName, 'the search field keeps its letters').to.equal('input');
    expect($<HTMLInputElement>(element, 'input').value).to.equal('d');
  });

  it('draws the focus ring of a row inside the scroller, where it is not clipped', async () => {
    const { element } = await scene();
    $(element, 'input').focus();
    await press('Tab');
    const row = focused()!;
    const style = getComputedStyle(row);
    expect(style.outlineStyle).to.equal('solid');
    const out = parseFloat(style.outlineOffset) + parseFloat(style.outlineWidth);
    const ring = row.getBoundingClientRect();
    const box = $(element, '.v').getBoundingClientRect();
    expect([ring.left - out >= box.left, ring.right + out <= box.right, ring.top - out >= box.top]).to.deep.equal([true, true, true]);
  });

  it('filters as you type, and ↓ moves from the search field into the list', async () => {
    const { element } = await scene();
    $(element, 'input').focus();
    await type('car');
    await element.updateComplete;
    expect(names(element)).to.deep.equal(['Team', 'Carol Danvers']);
    await press('ArrowDown');
    expect(focusedName()).to.equal('Team');
    await type('zzz');
    $<HTMLInputElement>(element, 'input').value = 'in a meet';
    $(element, 'input').dispatchEvent(new Event('input'));
    await element.updateComplete;
    expect(names(element), 'matches the personal message').to.deep.equal(['Team', 'Bob Builder']);
    $<HTMLInputElement>(element, 'input').value = 'nobody';
    $(element, 'input').dispatchEvent(new Event('input'));
    await element.updateComplete;
    expect(rows(element)).to.have.length(0);
    expect(shadowText(element)).to.contain('No one matches your search.');
  });

  it('shows unread counts, opens on click, and a cancelled event opens nothing', async () => {
    const hub = seededHub();
    const alice = await connected(hub);
    const conversation = hub.openDirect('alice', 'carol');
    hub.injectMessage(conversation.id, 'carol', 'one');
    hub.injectMessage(conversation.id, 'carol', 'two');
    const element = await list(alice);
    await until(() => element.shadowRoot!.querySelector('[part=badge]'), 'a badge');
    expect($(element, '[part=badge]').textContent).to.equal('22 unread');
    expect($(element, '[part=badge]').closest('[role=treeitem]')!.textContent).to.contain('Carol');
    const cancel = (e: Event) => e.preventDefault();
    document.body.addEventListener('perch-open-chat', cancel);
    rows(element).find((row) => row.textContent!.includes('Dave'))!.click();
    await new Promise((resolve) => setTimeout(resolve, 50));
    document.body.removeEventListener('perch-open-chat', cancel);
    expect(alice.conversations.get().some((c) => c.members.includes('dave'))).to.equal(false);
    rows(element)[0]!.click();
    await element.updateComplete;
    expect(rows(element)[0]!.getAttribute('aria-expanded')).to.equal('false');
  });

  it('lists the whole directory by department in directory mode', async () => {
    const hub = seededHub();
    hub.addUser({ id: 'erin', name: 'Erin Hart', department: 'Design' });
    const alice = await connected(hub);
    const element = await list(alice, { mode: 'directory' });
    await until(() => names(element).includes('Erin Hart'), 'the directory');
    expect($(element, '[role=tree]').getAttribute('aria-label')).to.equal('Directory');
    expect(names(element)).to.include.members(['R&D', 'Design', 'Support', 'Erin Hart', 'Bob Builder']);
    expect(names(element).indexOf('Erin Hart')).to.be.greaterThan(names(element).indexOf('Design'));
    // You are in the directory too, with the presence you chose (you are no contact of your own).
    const me = () => rows(element).find((row) => row.querySelector('.name')!.textContent === 'Alice Liddell');
    await until(() => me()?.querySelector('.dot')?.getAttribute('data-show') === 'online', 'you show as online');
    await alice.setPresence({ show: 'away', status: 'Back at 3' });
    await until(() => me()?.querySelector('.dot')?.getAttribute('data-show') === 'away', 'and as you chose');
    expect(me()!.textContent).to.contain('Back at 3');
  });

  it('renders 10,000 contacts with fewer than 400 elements, and End reaches the last', async () => {
    const hub = seededHub();
    for (let i = 0; i < 10_000; i++) {
      hub.addUser({ id: `u${i}`, name: `Person ${String(i).padStart(5, '0')}` });
      hub.addContact('alice', `u${i}`, ['Company']);
    }
    const alice = await connected(hub);
    const element = await list(alice);
    await until(() => names(element).includes('Person 00000'), 'the first rows');
    expect(shadowElements(element).length).to.be.lessThan(400);
    rows(element)[0]!.focus();
    await press('End');
    expect(focusedName()).to.equal('Person 09999');
    expect(shadowElements(element).length).to.be.lessThan(400);
    await press('Home');
    expect(focusedName()).to.equal('Team');
  });

  it('type-ahead reaches a match far outside the rendered rows of a long list', async () => {
    const hub = seededHub();
    for (let i = 0; i < 2_000; i++) {
      hub.addUser({ id: `u${i}`, name: `Person ${String(i).padStart(4, '0')}` });
      hub.addContact('alice', `u${i}`, ['Company']);
    }
    hub.addUser({ id: 'zed', name: 'Zed Zimmer' });
    hub.addContact('alice', 'zed', ['Company']);
    const alice = await connected(hub);
    const element = await list(alice);
    await until(() => names(element).includes('Person 0000'), 'the first rows');
    expect(names(element)).to.not.include('Zed Zimmer');
    rows(element)[0]!.focus();
    await type('z');
    expect(focusedName()).to.equal('Zed Zimmer');
    expect(shadowElements(element).length).to.be.lessThan(400);
    await new Promise((resolve) => setTimeout(resolve, 600));
    await type('b');
    expect(focusedName(), 'wraps around to the top').to.equal('Bob Builder');
  });

  it('mirrors under dir="rtl" (← opens a group), says when offline, and takes theme tokens', async () => {
    document.documentElement.dir = 'rtl';
    const hub = seededHub();
    const alice = await connected(hub);
    const element = await list(alice);
    rows(element)[0]!.focus();
    await press('ArrowRight');
    expect(rows(element)[0]!.getAttribute('aria-expanded')).to.equal('false');
    await press('ArrowLeft');
    expect(rows(element)[0]!.getAttribute('aria-expanded')).to.equal('true');
    const dot = rows(element)[1]!.querySelector('.dot')!.getBoundingClientRect();
    const name = rows(element)[1]!.querySelector('.name')!.getBoundingClientRect();
    expect(name.right).to.be.greaterThan(dot.right);
    hub.setOffline(true);
    await until(() => $(element, '[part=banner]').textContent, 'the banner');
    expect($(element, '[role=status]').textContent).to.match(/Reconnecting|Connecting/);
    element.style.setProperty('--perch-border', 'rgb(9, 8, 7)');
    expect(getComputedStyle(element).borderTopColor).to.equal('rgb(9, 8, 7)');
    await expectAccessible(element);
  });

  it('renders hostile names, groups, departments and statuses as text', async () => {
    const hub = seededHub();
    HOSTILE.forEach((payload, i) => {
      hub.addUser({ id: `x${i}`, name: payload.slice(0, 200), department: payload, title: payload });
      hub.addContact('alice', `x${i}`, [payload.slice(0, 100)]);
    });
    for (let i = 0; i < HOSTILE.length; i++) {
      const client = await connected(hub, `x${i}`);
      await client.setPresence({ show: 'away', status: HOSTILE[i]!.slice(0, 280) });
    }
    const alice = await connected(hub);
    for (const mode of ['contacts', 'directory']) {
      const element = await list(alice, { mode });
      await until(() => rows(element).length > HOSTILE.length, 'the rows');
      expectSafe(element);
      expect(shadowText(element)).to.contain(HOSTILE[0]);
    }
  });
});
