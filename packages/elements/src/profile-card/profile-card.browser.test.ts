import { expect } from 'chai';
import type { UserEventDetail } from '../index.js';
import type { PerchProfileCard } from './profile-card.component.js';
import {
  $,
  $$,
  HOSTILE,
  PHOTO,
  cleanup,
  connected,
  expectAccessible,
  expectSafe,
  focused,
  mount,
  press,
  seededHub,
  shadowText,
  until,
} from '../testing.browser.test.js';

const card = (client: Awaited<ReturnType<typeof connected>>, userId = 'bob') =>
  mount<PerchProfileCard>('perch-profile-card', { 'user-id': userId }, client);

describe('<perch-profile-card>', () => {
  afterEach(cleanup);

  it('renders a contact from the roster at once, with every detail', async () => {
    const hub = seededHub();
    const bob = await connected(hub, 'bob');
    await bob.setPresence({ show: 'dnd', status: 'In a meeting' });
    const alice = await connected(hub, 'alice');
    await until(() => alice.roster.get().find((e) => e.user.id === 'bob')?.presence.show === 'dnd', 'bob is busy');
    const element = await card(alice);
    expect($(element, 'img.av').getAttribute('src')).to.equal(PHOTO);
    expect($(element, 'img.av').getAttribute('alt')).to.equal('Bob Builder');
    expect($(element, '[part=name]').textContent).to.equal('Bob Builder');
    const text = shadowText(element);
    expect(text).to.contain('Designer · Design').and.contain('Busy').and.contain('In a meeting').and.contain('Tokyo office');
    expect($(element, '.dot').dataset.show).to.equal('dnd');
    const tokyo = new Intl.DateTimeFormat(undefined, { timeStyle: 'short', timeZone: 'Asia/Tokyo' }).format(Date.now());
    expect($(element, 'time.local').textContent).to.equal(tokyo);
    const links = $$<HTMLAnchorElement>(element, 'a').map((a) => a.getAttribute('href'));
    expect(links).to.deep.equal(['mailto:bob@example.com', 'tel:+81312345678']);
  });

  it('fetches the profile of someone who is not a contact, and shows initials without a photo', async () => {
    const hub = seededHub();
    hub.addUser({ id: 'erin', name: 'erin o’Hara', title: 'Visitor liaison' });
    const alice = await connected(hub);
    const element = await card(alice, 'erin');
    expect($(element, '[aria-busy]').textContent).to.equal('Loading profile…');
    await until(() => element.shadowRoot!.querySelector('[part=name]'), 'the fetched profile');
    expect($(element, '.av').textContent).to.equal('EO');
    expect(element.shadowRoot!.querySelector('img')).to.equal(null);
    expect(shadowText(element)).to.contain('Visitor liaison');
  });

  it('shows your own presence on your own card', async () => {
    const alice = await connected(seededHub());
    await alice.setPresence({ show: 'dnd', status: 'Heads down' });
    const element = await card(alice, 'alice');
    await until(() => element.shadowRoot!.querySelector('.dot'), 'a presence line');
    expect($(element, '.dot').dataset.show).to.equal('dnd');
    expect(shadowText(element)).to.contain('Busy').and.contain('Heads down');
  });

  it('says so when there is no such user, instead of loading forever', async () => {
    const alice = await connected(seededHub());
    const element = await card(alice, 'nobody');
    await until(() => $(element, 'p').textContent !== 'Loading profile…', 'an answer');
    expect($(element, 'p').textContent).to.equal('Profile not found.');
    expect(element.shadowRoot!.querySelector('[aria-busy=true]'), 'no longer busy').to.equal(null);
    await expectAccessible(element);
  });

  it('updates the local time at the turn of each minute', async () => {
    const alice = await connected(seededHub());
    const timers: Array<{ run: () => void; delay: number }> = [];
    const realTimeout = window.setTimeout;
    const realNow = Date.now;
    window.setTimeout = ((run: () => void, delay: number) => timers.push({ run, delay }) && 0) as typeof setTimeout;
    try {
      const element = await card(alice);
      const ticker = timers.find((t) => t.delay <= 60_000 && t.delay > 0)!;
      expect(ticker, 'a timer until the next minute').to.not.equal(undefined);
      const before = $(element, 'time.local').textContent;
      Date.now = () => realNow() + 3 * 3600_000;
      ticker.run();
      await element.updateComplete;
      expect($(element, 'time.local').textContent).to.not.equal(before);
    } finally {
      window.setTimeout = realTimeout;
      Date.now = realNow;
    }
  });

  it('is usable by keyboard: Tab reaches email, phone and Message; Enter opens the chat', async () => {
    const alice = await connected(seededHub());
    await card(alice);
    const events: Array<CustomEvent<UserEventDetail>> = [];
    document.body.addEventListener('perch-open-chat', (e) => events.push(e), { once: true });
    const before = document.createElement('button');
    document.body.prepend(before);
    try {
      before.focus();
      await press('Tab');
      expect(focused()?.getAttribute('href')).to.equal('mailto:bob@example.com');
      await press('Tab');
      expect(focused()?.getAttribute('href')).to.equal('tel:+81312345678');
      await press('Tab');
      expect(focused()?.getAttribute('part')).to.equal('message-button');
      await press('Enter');
      expect(events).to.have.length(1);
      expect(events[0]!.detail).to.deep.equal({ userId: 'bob' });
      expect(events[0]!.bubbles && events[0]!.composed && events[0]!.cancelable).to.equal(true);
      await until(() => alice.conversations.get().some((c) => c.kind === 'direct' && c.members.includes('bob')), 'the chat is opened');
    } finally {
      before.remove();
    }
  });

  it('does not open the chat itself when the event is cancelled, and says why opening failed', async () => {
    const hub = seededHub();
    const alice = await connected(hub);
    const element = await card(alice);
    const cancel = (e: Event) => e.preventDefault();
    document.body.addEventListener('perch-open-chat', cancel);
    $(element, 'button').click();
    await new Promise((resolve) => setTimeout(resolve, 50));
    document.body.removeEventListener('perch-open-chat', cancel);
    expect(alice.conversations.get()).to.have.length(0);
    hub.setOffline(true);
    await until(() => alice.status.get().state !== 'online', 'offline');
    $(element, 'button').click();
    await until(() => $(element, '[role=alert]').textContent, 'an error');
    expect($(element, '[role=alert]').textContent).to.equal('You are offline. Try again once connected.');
  });

  it('calls the number as dialled: without "(0)" and without the extension', async () => {
    const hub = seededHub();
    hub.addUser({ id: 'bob', name: 'Bob Builder', phone: '+44 (0)20 7946 0958 ext. 123' });
    hub.addUser({ id: 'carol', name: 'Carol Danvers', phone: 'Tel. +1 555 010 9999 x 12' });
    const alice = await connected(hub);
    // "(0)" is dialled only from inside the country; an extension appended would make another number.
    for (const [id, href] of [['bob', 'tel:+442079460958'], ['carol', 'tel:+15550109999']]) {
      const element = await card(alice, id);
      await until(() => element.shadowRoot!.querySelector('a'), 'the phone link');
      expect($(element, 'a').getAttribute('href')).to.equal(href);
    }
    expect(shadowText(await card(alice))).to.contain('+44 (0)20 7946 0958 ext. 123');
  });

  it('keeps a long email address inside the card', async () => {
    const hub = seededHub();
    hub.addUser({ id: 'bob', name: 'Bob Builder', email: 'firstname.middlename.lastname@subsidiary.department.examplecorporation.com' });
    const alice = await connected(hub);
    const element = await card(alice);
    expect($(element, 'a').getBoundingClientRect().right).to.be.at.most(element.getBoundingClientRect().right);
  });

  it('has no axe violations, and hides the Message button on your own card', async () => {
    const alice = await connected(seededHub());
    const element = await card(alice);
    await expectAccessible(element);
    const own = await card(alice, 'alice');
    expect(own.shadowRoot!.querySelector('button')).to.equal(null);
    await expectAccessible(own);
  });

  it('mirrors under dir="rtl" and takes theme tokens', async () => {
    document.documentElement.dir = 'rtl';
    const alice = await connected(seededHub());
    const element = await card(alice);
    expect($(element, '.av').getBoundingClientRect().left).to.be.greaterThan($(element, '[part=name]').getBoundingClientRect().left);
    element.style.setProperty('--perch-accent', 'rgb(10, 20, 30)');
    expect(getComputedStyle($(element, 'button')).backgroundColor).to.equal('rgb(10, 20, 30)');
  });

  it('renders hostile profile fields and statuses as text only', async () => {
    for (const payload of HOSTILE) {
      const hub = seededHub();
      hub.addUser({
        id: 'bob',
        name: payload.slice(0, 200),
        title: payload,
        department: payload,
        email: payload,
        phone: payload,
        location: payload,
        timeZone: payload,
        avatar: payload,
      });
      const bob = await connected(hub, 'bob');
      await bob.setPresence({ show: 'online', status: payload.slice(0, 280) });
      const alice = await connected(hub);
      await until(() => alice.roster.get().find((e) => e.user.id === 'bob')?.presence.status, 'the status');
      const element = await card(alice);
      expectSafe(element);
      expect(shadowText(element)).to.contain(payload.slice(0, 200));
      await cleanup();
    }
  });
});
