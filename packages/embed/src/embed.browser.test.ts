/**
 * The Perch() API in a real page, over the in-page memory hub (the script-tag bundle against a
 * real server is covered by test/e2e). Each test installs Perch on this window and removes it.
 */
import { memoryBackend, type MemoryHub } from '@perch/backend-memory';
import { createClient, type AuthSource, type ConnectionStatus } from '@perch/core';
import { sendKeys, setViewport } from '@web/test-runner-commands';
import { expect } from 'chai';
import { createHub } from '../../../test/shared/hub.js';
import { installPerch, type PerchApi } from './api.js';
import { chatWindowsClass, type PerchChatWindows } from './chat-windows.js';
import type { Unread } from './session.js';

type PerchWindow = Window & { Perch?: unknown };

async function until(check: () => unknown, what: string, timeout = 5_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeout) throw new Error(`Timed out after ${timeout} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Console output of the code under test, captured (and silenced) while a test runs. */
function captureConsole(): { warnings: string[]; errors: string[]; restore(): void } {
  const seen = { warnings: [] as string[], errors: [] as string[] };
  const { warn, error } = console;
  console.warn = (...args: unknown[]) => seen.warnings.push(args.join(' '));
  console.error = (...args: unknown[]) => seen.errors.push(args.join(' '));
  return { ...seen, restore: () => Object.assign(console, { warn, error }) };
}

describe('@perch/embed: the Perch() API', function () {
  this.timeout(15_000);
  let hub: MemoryHub;
  let perch: PerchApi | undefined;
  let output: ReturnType<typeof captureConsole>;
  const cleanup: Array<() => void> = [];

  /** Installs Perch with clients on the memory hub instead of a WebSocket. */
  function install(script: HTMLScriptElement | null = null): PerchApi | undefined {
    return installPerch(window, script, {
      makeClient: (_options, auth: AuthSource, user) =>
        createClient({ backend: memoryBackend({ hub }), auth, storage: 'memory', tabs: 'single', ...(user ? { user } : {}) }),
      loadWindows: async () => chatWindowsClass,
    });
  }

  beforeEach(() => {
    hub = createHub();
    output = captureConsole();
    delete (window as PerchWindow).Perch;
  });

  afterEach(async () => {
    await perch?.('shutdown');
    perch = undefined;
    delete (window as PerchWindow).Perch;
    for (const undo of cleanup.splice(0)) undo();
    for (const windows of document.querySelectorAll('perch-chat-windows')) windows.remove();
    output.restore();
  });

  it('replays the calls the page queued before the script loaded, in order', async () => {
    const calls: string[] = [];
    const queue: unknown[][] = [];
    const stub = Object.assign((...args: unknown[]) => void queue.push(args), { q: queue });
    (window as PerchWindow).Perch = stub;
    stub('on', 'ready', (user: { id: string }) => calls.push(`ready ${user.id}`));
    stub('on', 'unread', (total: number) => calls.push(`unread ${total}`));
    stub('boot', { token: hub.token('alice'), server: 'ws://chat.example/' });
    perch = install()!;
    expect((window as PerchWindow).Perch).to.equal(perch);
    await until(() => calls.includes('ready alice'), 'ready');
    expect(calls[0], 'unread is sticky: called at once on registration').to.equal('unread 0');
    expect(perch!.client!.status.get().state).to.equal('online');
    expect(perch!.version).to.match(/^\d+\.\d+\.\d+/);
  });

  it('boots from the script tag’s data-* attributes, and says what is wrong with a bad one', async () => {
    const script = document.createElement('script');
    script.dataset.token = hub.token('bob');
    script.dataset.server = 'ws://chat.example/perch';
    script.dataset.theme = 'dark';
    perch = install(script);
    await until(() => perch!.client?.status.get().state === 'online', 'online from data-token');
    expect(perch!.client!.user.get()?.id).to.equal('bob');
    // data-theme="dark" pins every Perch element without its own theme, also ones added later.
    const feed = document.body.appendChild(document.createElement('perch-feed'));
    const own = document.body.appendChild(document.createElement('perch-feed'));
    own.setAttribute('theme', 'light');
    cleanup.push(() => (feed.remove(), own.remove()));
    expect(getComputedStyle(feed).colorScheme).to.equal('dark');
    expect(getComputedStyle(own).colorScheme).to.equal('light');

    expect(await perch!('boot', { theme: 'purple' as 'dark' })).to.equal(false);
    expect(output.errors.join('\n')).to.include('theme must be one of "light", "dark", "auto"; got "purple"');
    expect(await perch!('boot', { server: 'http://chat.example/' })).to.equal(false);
    expect(output.errors.join('\n')).to.include('server must start with ws:// or wss://');
    expect(await perch!('boot', 'alice' as never)).to.equal(false);
    expect(output.errors.join('\n')).to.include('the options must be an object');
  });

  it('reports a wrong data-* value by its option, and a good value given to boot replaces it', async () => {
    const script = document.createElement('script');
    script.dataset.token = hub.token('bob');
    script.dataset.server = 'ws://chat.example/';
    script.dataset.theme = 'blue';
    perch = install(script)!;
    expect(output.errors.join('\n')).to.include('Perch(\'boot\'): theme must be one of "light", "dark", "auto"; got "blue".');
    // A good value given to boot replaces the tag's bad one.
    expect(await perch('boot', { theme: 'light', storage: 'session' as 'memory' })).to.equal(false);
    expect(output.errors.at(-1)).to.equal('Perch(\'boot\'): storage must be one of "persistent", "memory"; got "session".');
    script.dataset.visitorName = '';
    delete script.dataset.token;
    delete script.dataset.theme;
    delete (window as PerchWindow).Perch;
    perch = install(script)!;
    expect(output.errors.at(-1)).to.equal('Perch(\'boot\'): visitor.name must be a non-empty string; got "".');
    // A good value from boot fixes a bad one on the tag.
    script.dataset.tokenUrl = 'ftp://example.com/t';
    script.dataset.visitorName = 'Ada';
    delete (window as PerchWindow).Perch;
    perch = install(script)!;
    expect(output.errors.at(-1)).to.equal('Perch(\'boot\'): tokenUrl must start with http:// or https://; got "ftp://example.com/t".');
    expect(await perch('boot', { token: hub.token('bob') })).to.equal(true);
  });

  it('never throws at the page, even for arguments that cannot be shown as JSON', async () => {
    perch = install()!;
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    const call = perch as unknown as (...args: unknown[]) => unknown;
    for (const args of [['open', loop], ['close', loop], ['on', loop, () => {}], ['identify', 1n], [loop]]) {
      expect(() => call(...args), String(args[0])).not.to.throw();
    }
    expect(output.errors.length).to.equal(5);
    expect(output.errors[0]).to.include(`Perch('open'): give a user id`);
    expect(await perch('boot', { theme: loop as never })).to.equal(false);
    expect(await perch('boot', { windows: 1n as never })).to.equal(false);
    expect(output.errors.at(-1)).to.include('windows must be true or false');
  });

  it('a second copy warns and leaves the first alone; a page’s own window.Perch is never overwritten', () => {
    perch = install()!;
    expect(install(), 'the second copy does not install').to.equal(undefined);
    expect((window as PerchWindow).Perch).to.equal(perch);
    expect(output.warnings.join('\n')).to.include('is already running on this page');

    const pagesOwn = { mine: true };
    (window as PerchWindow).Perch = pagesOwn;
    expect(install()).to.equal(undefined);
    expect((window as PerchWindow).Perch).to.equal(pagesOwn);
    expect(output.warnings.join('\n')).to.include('window.Perch is already used by this page');
    (window as PerchWindow).Perch = perch;
  });

  it('answers an unknown command or event with a clear console error, never a throw', () => {
    perch = install()!;
    expect(() => (perch as unknown as (c: string) => void)('launch')).not.to.throw();
    expect(output.errors.join('\n')).to.include('unknown command "launch"; the commands are boot, identify, shutdown');
    (perch as unknown as (c: string, e: string, f: () => void) => void)('on', 'mesage', () => {});
    expect(output.errors.join('\n')).to.include('give an event (ready, status, message, unread, error)');
  });

  it('counts unread chats and mentions in one number, and marks mentions read', async () => {
    const unread: Unread[] = [];
    perch = install()!;
    perch('on', 'unread', (_total: number, detail: Unread) => unread.push(detail));
    expect(await perch('boot', { token: hub.token('alice'), server: 'ws://chat.example/' })).to.equal(true);
    const direct = hub.openDirect('bob', 'alice');
    hub.injectMessage(direct.id, 'bob', 'Are you free at 3?');
    // Posts from before this device first signed in are not "new"; later ones are.
    await new Promise((resolve) => setTimeout(resolve, 5));
    hub.publish('bob', 'Thanks @alice for the review!');
    await until(() => perch!.unread.total === 2, 'one chat message and one mention');
    expect(perch.unread).to.deep.equal({ total: 2, chats: 1, mentions: 1 });
    perch('read', 'mentions');
    expect(perch.unread).to.deep.equal({ total: 1, chats: 1, mentions: 0 });
    expect(unread.at(-1)).to.deep.equal({ total: 1, chats: 1, mentions: 0 });
  });

  it('opens a chat in a window, in the page’s own target pane, or not at all when the page cancels', async () => {
    perch = install()!;
    await perch('boot', { token: hub.token('alice'), server: 'ws://chat.example/' });
    perch('open', 'bob');
    await until(() => document.querySelector('perch-chat-windows'), 'the chat windows load');
    const windows = document.querySelector('perch-chat-windows') as PerchChatWindows;
    await until(() => windows.openChats.length === 1, 'a window opens');
    expect(windows.openChats).to.deep.equal([{ with: 'bob' }]);
    await windows.updateComplete;
    const pane = windows.shadowRoot!.querySelector('perch-chat-pane')!;
    expect(pane.getAttribute('with')).to.equal('bob');
    expect(windows.shadowRoot!.querySelector('[role=dialog] h2')!.textContent).to.equal('Bob Builder');
    // Focus moves into the window's composer, so the keyboard can write at once.
    await until(() => windows.shadowRoot!.activeElement === pane && pane.shadowRoot!.activeElement?.matches('[part~=composer]'), 'the composer has focus');

    // Escape closes the focused window.
    windows.shadowRoot!.querySelector('section')!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, composed: true }));
    expect(windows.openChats).to.deep.equal([]);

    // A buddy-list click the page does not cancel opens a window; a cancelled one does not.
    const source = document.body.appendChild(document.createElement('div'));
    cleanup.push(() => source.remove());
    source.dispatchEvent(new CustomEvent('perch-open-chat', { detail: { userId: 'carol' }, bubbles: true, composed: true, cancelable: true }));
    await until(() => windows.openChats.length === 1, 'carol’s window opens');
    expect(windows.openChats).to.deep.equal([{ with: 'carol' }]);
    const cancel = (event: Event) => event.preventDefault();
    document.addEventListener('perch-open-chat', cancel);
    cleanup.push(() => document.removeEventListener('perch-open-chat', cancel));
    source.dispatchEvent(new CustomEvent('perch-open-chat', { detail: { userId: 'bob' }, bubbles: true, composed: true, cancelable: true }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(windows.openChats).to.deep.equal([{ with: 'carol' }]);

    // The page's own pane, marked data-perch-target, is used instead of a window.
    const own = document.body.appendChild(document.createElement('perch-chat-pane'));
    own.dataset.perchTarget = '';
    cleanup.push(() => own.remove());
    perch('open', { conversation: direct(hub) });
    expect(own.getAttribute('conversation')).to.equal(direct(hub));
    expect(own.hasAttribute('with')).to.equal(false);
  });

  it('Escape that cancels an edit in a chat window leaves the window open; the next one closes it', async () => {
    hub.injectMessage(direct(hub), 'alice', 'tpyo');
    perch = install()!;
    await perch('boot', { token: hub.token('alice'), server: 'ws://chat.example/' });
    perch('open', 'bob');
    // (Earlier tests' installs leave their windows elements in the page: find this one's.)
    const mine = () => [...document.querySelectorAll<PerchChatWindows>('perch-chat-windows')].find((w) => JSON.stringify(w.openChats) === '[{"with":"bob"}]');
    await until(mine, 'the window opens');
    const windows = mine()!;
    await until(() => windows.shadowRoot!.querySelector('perch-chat-pane')?.shadowRoot!.querySelector('.act'), 'the message with Edit');
    const pane = windows.shadowRoot!.querySelector('perch-chat-pane')!;
    const composer = pane.shadowRoot!.querySelector('textarea')!;
    await until(() => pane.shadowRoot!.activeElement === composer, 'the composer has focus');
    await sendKeys({ press: 'ArrowUp' });
    expect([composer.value, composer.getAttribute('aria-label')]).to.deep.equal(['tpyo', 'Edit your message']);
    await sendKeys({ press: 'Escape' });
    expect(composer.value).to.equal('');
    expect(windows.openChats, 'the window stays open').to.deep.equal([{ with: 'bob' }]);
    await sendKeys({ press: 'Escape' });
    expect(windows.openChats).to.deep.equal([]);
  });

  it('a window’s Minimise and Close show a focus ring that stands out from the title bar', async () => {
    perch = install()!;
    await perch('boot', { token: hub.token('alice'), server: 'ws://chat.example/' });
    const conversation = direct(hub);
    perch('open', { conversation });
    const mine = () => [...document.querySelectorAll<PerchChatWindows>('perch-chat-windows')].find((w) => w.openChats.some((t) => 'conversation' in t && t.conversation === conversation));
    await until(mine, 'the window opens');
    const windows = mine()!;
    const header = () => windows.shadowRoot!.querySelector('header')!;
    await until(() => windows.shadowRoot!.activeElement?.localName === 'perch-chat-pane', 'the window has focus');
    // Shift+Tab from the composer, past the log, to Close and then Minimise.
    const seen: string[] = [];
    for (let i = 0; i < 6 && seen.length < 2; i++) {
      await sendKeys({ down: 'Shift' });
      await sendKeys({ press: 'Tab' });
      await sendKeys({ up: 'Shift' });
      const button = windows.shadowRoot!.activeElement;
      if (button?.parentElement !== header()) continue;
      const style = getComputedStyle(button);
      expect(button.matches(':focus-visible')).to.equal(true);
      expect([style.outlineStyle, style.outlineColor === getComputedStyle(header()).backgroundColor], button.getAttribute('aria-label')!).to.deep.equal(['solid', false]);
      seen.push(button.getAttribute('aria-label')!);
    }
    expect(seen).to.deep.equal(['Close', 'Minimise']);
  });

  /** Boots as alice and opens a chat window with bob; resolves with the rendered windows element. */
  async function aliceOpensBob(): Promise<PerchChatWindows> {
    perch = install()!;
    await perch('boot', { token: hub.token('alice'), server: 'ws://chat.example/' });
    perch('open', 'bob');
    await until(() => document.querySelector<PerchChatWindows>('perch-chat-windows')?.openChats.length, 'the window opens');
    const windows = document.querySelector<PerchChatWindows>('perch-chat-windows')!;
    await windows.updateComplete;
    return windows;
  }

  it('a chat window stays above the page’s highest z-index and pinned to the viewport under a transformed body', async () => {
    // A cookie banner at the highest z-index, over the whole viewport; a body with a transform
    // (which makes it the box that position: fixed is relative to).
    const banner = document.body.appendChild(document.createElement('div'));
    banner.style.cssText = 'position: fixed; inset: 0; z-index: 2147483647';
    const spacer = document.body.appendChild(document.createElement('div'));
    spacer.style.blockSize = '50px';
    document.body.style.transform = 'translateZ(0)';
    cleanup.push(() => (banner.remove(), spacer.remove(), document.body.style.removeProperty('transform')));
    const windows = await aliceOpensBob();
    const box = windows.shadowRoot!.querySelector('section')!.getBoundingClientRect();
    expect(Math.round(box.bottom), 'at the bottom of the viewport').to.equal(document.documentElement.clientHeight);
    expect(document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2), 'above the banner').to.equal(windows);
  });

  it('on a narrow screen, a new chat window closes the oldest ones that no longer fit beside it', async () => {
    await setViewport({ width: 320, height: 600 });
    cleanup.push(() => void setViewport({ width: 800, height: 600 }));
    const windows = await aliceOpensBob();
    perch!('open', 'carol');
    await until(() => JSON.stringify(windows.openChats.at(-1)) === '{"with":"carol"}', 'carol’s window opens');
    await windows.updateComplete;
    expect(windows.openChats).to.deep.equal([{ with: 'carol' }]);
    await windows.updateComplete;
    const sections = windows.shadowRoot!.querySelectorAll('section');
    expect(sections.length).to.equal(1);
    const box = sections[0]!.getBoundingClientRect();
    expect(box.left >= 0 && box.right <= innerWidth, JSON.stringify(box)).to.equal(true);
    await setViewport({ width: 800, height: 600 });
  });

  it('when the viewport shrinks (a phone turned upright), the chat windows that no longer fit close, oldest first', async () => {
    cleanup.push(() => void setViewport({ width: 800, height: 600 }));
    const windows = await aliceOpensBob();
    perch!('open', 'carol');
    await until(() => windows.openChats.length === 2, 'both windows open side by side');
    await setViewport({ width: 320, height: 600 });
    await until(() => windows.openChats.length === 1, 'the oldest window closed');
    expect(windows.openChats).to.deep.equal([{ with: 'carol' }]);
  });

  it('identify switches the signed-in person; shutdown signs out and empties every component', async () => {
    perch = install()!;
    const readyUsers: string[] = [];
    perch('on', 'ready', (user) => readyUsers.push(user.id));
    await perch('boot', { token: hub.token('alice'), server: 'ws://chat.example/' });
    const first = perch.client!;
    expect(await perch('identify', { token: hub.token('carol') })).to.equal(true);
    expect(perch.client).not.to.equal(first);
    expect(perch.client!.user.get()?.id).to.equal('carol');
    expect(first.status.get().state, 'the old session is closed').to.equal('offline');
    expect(readyUsers).to.deep.equal(['alice', 'carol']);

    const statuses: string[] = [];
    perch('on', 'status', (s) => statuses.push(s.state));
    await perch('shutdown');
    expect(perch.client).to.equal(undefined);
    expect(statuses.at(-1)).to.equal('offline');
    expect(perch.unread.total).to.equal(0);
  });

  it('a token URL that says “not signed in” ends in one error event and boot resolving false', async () => {
    const realFetch = window.fetch;
    window.fetch = async () => new Response('no session', { status: 401 });
    cleanup.push(() => (window.fetch = realFetch));
    perch = install()!;
    const errors: string[] = [];
    perch('on', 'error', (e) => errors.push(e.code));
    expect(await perch('boot', { tokenUrl: '/perch-token', server: 'ws://chat.example/' })).to.equal(false);
    expect(errors).to.deep.equal(['unauthorized']);
    expect(output.errors.join('\n')).to.include('the visitor is not signed in on this site');
    // The status says why, to a listener added now too (the client's own status lost the error when it stopped).
    let status: ConnectionStatus | undefined;
    perch('on', 'status', (s) => (status = s));
    expect([status?.state, status?.error?.code]).to.deep.equal(['offline', 'unauthorized']);
  });

  it('a token the server refuses leaves the status offline with the error', async () => {
    perch = install()!;
    const token = hub.token('alice');
    hub.revokeToken('alice');
    const states: string[] = [];
    perch('on', 'status', (s) => states.push(`${s.state}${s.error ? ` ${s.error.code}` : ''}`));
    expect(await perch('boot', { token, server: 'ws://chat.example/' })).to.equal(false);
    const afterRefusal = states.slice(states.indexOf('offline unauthorized'));
    expect(afterRefusal.length > 0 && afterRefusal.every((s) => s === 'offline unauthorized'), states.join()).to.equal(true);
  });

  it('a listener that throws is the page’s error: Perch reports it and goes on', async () => {
    const reported: unknown[] = [];
    const realReport = window.reportError;
    window.reportError = (error: unknown) => void reported.push(error);
    cleanup.push(() => (window.reportError = realReport));
    perch = install()!;
    const seen: number[] = [];
    perch('on', 'unread', () => {
      throw new Error('page bug');
    });
    perch('on', 'unread', (total) => seen.push(total));
    expect(seen).to.deep.equal([0]);
    expect((reported[0] as Error).message).to.equal('page bug');
  });
});

/** The id of alice and bob's direct conversation on `hub`. */
function direct(hub: MemoryHub): string {
  return hub.openDirect('alice', 'bob').id;
}
