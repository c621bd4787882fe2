import { expect } from 'chai';
import { mountDemo, type Demo } from '../../examples/memory-chat/main.js';

/** Waits until `check` returns true, polling; fails with `what` after `timeout` ms. */
async function until(check: () => boolean, what: string, timeout = 5_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeout) throw new Error(`Timed out after ${timeout} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const panel = (root: HTMLElement, who: 'alice' | 'bob') => root.querySelector<HTMLElement>(`[data-panel="${who}"]`)!;
const composer = (root: HTMLElement, who: 'alice' | 'bob') => panel(root, who).querySelector<HTMLTextAreaElement>('textarea[name="message"]')!;
/** The chat bubbles of a panel whose text is exactly `text`. */
const bubbles = (root: HTMLElement, who: 'alice' | 'bob', text: string) =>
  [...panel(root, who).querySelectorAll<HTMLElement>('.messages .message')].filter((li) => li.querySelector('.text')?.textContent === text);
const button = (root: HTMLElement, action: string) => root.querySelector<HTMLButtonElement>(`[data-action="${action}"]`)!;
const connection = (root: HTMLElement, who: 'alice' | 'bob') => panel(root, who).querySelector<HTMLElement>('.connection')!;

/** Types `text` into a panel's composer and presses Enter, as a user would. */
function typeAndEnter(root: HTMLElement, who: 'alice' | 'bob', text: string): void {
  const input = composer(root, who);
  input.focus();
  input.value = text;
  input.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertText', data: text }));
  input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', code: 'Enter', bubbles: true, cancelable: true }));
}

describe('memory-chat demo', function () {
  this.timeout(15_000);
  let root: HTMLElement;
  let demo: Demo | undefined;

  beforeEach(async () => {
    root = document.createElement('div');
    document.body.append(root);
    demo = mountDemo(root);
    await until(() => !composer(root, 'alice').disabled && !composer(root, 'bob').disabled, 'both composers are enabled');
  });

  afterEach(() => {
    demo?.destroy();
    demo = undefined;
    root.remove();
  });

  it('shows both people connected, with buddies and the seeded chat and feed', async () => {
    await until(() => connection(root, 'alice').dataset.state === 'online', 'Alice is online');
    expect(panel(root, 'alice').querySelector('[data-user="bob"] .buddy-name')?.textContent).to.equal('Bob Okafor');
    await until(() => bubbles(root, 'bob', 'Morning! Did you get a chance to look at the icons?').length === 1, 'seeded chat');
    await until(() => panel(root, 'bob').querySelectorAll('.timeline .post').length >= 3, 'seeded posts in the feed');
    expect(root.querySelector('a[href^="javascript"]'), 'no script links').to.equal(null);
  });

  it('sends with Enter from Alice and shows the message in Bob’s panel', async () => {
    const text = `Lunch at 12:30? ${crypto.randomUUID().slice(0, 8)}`;
    typeAndEnter(root, 'alice', text);
    expect(composer(root, 'alice').value, 'the composer clears on send').to.equal('');
    // Persist, then show: the pending message appears once it is in the outbox.
    await until(() => bubbles(root, 'alice', text).length === 1, 'Alice sees her own message');

    await until(() => bubbles(root, 'bob', text).length === 1, 'Bob sees the message');
    expect(bubbles(root, 'bob', text)[0]!.classList.contains('theirs')).to.equal(true);
    // Bob's panel has the chat on screen, so Alice's copy goes on to "read".
    await until(() => bubbles(root, 'alice', text)[0]?.dataset.state === 'read', 'Alice sees it read');
  });

  it('Shift+Enter does not send', async () => {
    const input = composer(root, 'alice');
    input.value = 'first line';
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', shiftKey: true, bubbles: true, cancelable: true }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(input.value).to.equal('first line');
    expect(bubbles(root, 'alice', 'first line')).to.have.length(0);
  });

  it('queues a message while offline and delivers it exactly once when back online', async () => {
    const hub = demo!.hub;
    button(root, 'offline').click();
    expect(hub.faults.offline).to.equal(true);
    expect(button(root, 'offline').textContent).to.equal('Go online');
    await until(() => connection(root, 'alice').dataset.state !== 'online', 'Alice notices the hub is gone');

    const text = `Written offline ${crypto.randomUUID().slice(0, 8)}`;
    typeAndEnter(root, 'alice', text);
    await until(() => bubbles(root, 'alice', text).length === 1, 'Alice sees her pending message');
    expect(bubbles(root, 'alice', text)[0]!.dataset.state).to.equal('pending');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(bubbles(root, 'bob', text), 'nothing reaches Bob while offline').to.have.length(0);

    button(root, 'offline').click();
    expect(hub.faults.offline).to.equal(false);
    await until(() => bubbles(root, 'bob', text).length === 1, 'Bob gets the message after reconnecting');
    await until(() => bubbles(root, 'alice', text)[0]?.dataset.state !== 'pending', 'Alice sees it acknowledged');

    // Give any duplicate (a retry, an echo) time to show up, then count.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(bubbles(root, 'bob', text)).to.have.length(1);
    expect(bubbles(root, 'alice', text)).to.have.length(1);
    const conversation = hub.conversationsOf('alice').find((c) => c.kind === 'direct' && c.members.includes('bob'))!;
    expect(hub.messages(conversation.id).filter((m) => m.text === text), 'persisted once on the hub').to.have.length(1);
  });
});
