/**
 * Shared fixtures for the component tests: a seeded memory hub, connected clients, mounting,
 * axe, keyboard input, and the XSS audit. (Named *.browser.test.ts so that test/browser's
 * tsconfig type-checks it; it registers no tests of its own.)
 */
// Tests may drive a real client over the in-page hub; the package itself never imports a backend.
import { MemoryHub, memoryBackend } from '@perch/backend-memory';
export type { MemoryHub };
import { createClient, type PerchClient, type User } from '@perch/core';
import { sendKeys } from '@web/test-runner-commands';
// axe-core is a UMD script: imported for its side effect, it sets window.axe.
import 'axe-core';
import { expect } from 'chai';
import type { LitElement } from 'lit';
import './define.js';
// The package face, also for its global HTMLElementEventMap entries (perch-* events).
export type { UserEventDetail } from './index.js';

/** A profile photo URL on the test server (it answers 404, so nothing leaves the machine). */
export const PHOTO = new URL('/perch-test-photo.png', location.href).href;

export const PEOPLE: User[] = [
  { id: 'alice', name: 'Alice Liddell', title: 'Engineer', department: 'R&D', timeZone: 'Europe/London' },
  {
    id: 'bob',
    name: 'Bob Builder',
    title: 'Designer',
    department: 'Design',
    email: 'bob@example.com',
    phone: '+81 3-1234-5678',
    location: 'Tokyo office',
    timeZone: 'Asia/Tokyo',
    avatar: PHOTO,
  },
  { id: 'carol', name: 'Carol Danvers', title: 'Support lead', department: 'Support', timeZone: 'America/New_York' },
  { id: 'dave', name: 'Dave Grohl', title: 'Drummer', department: 'R&D' },
];

/** Payloads fed through every component as names, statuses, messages, posts and URLs. */
export const HOSTILE = [
  '<img src=x onerror="window.__pwned=1">',
  '<script>window.__pwned=1</script>',
  'javascript:window.__pwned=1',
  '" onmouseover="window.__pwned=1" x="',
  "'><svg onload=window.__pwned=1>",
  'data:text/html,<script>window.__pwned=1</script>',
  '<a href="javascript:window.__pwned=1">click</a> [x](javascript:window.__pwned=1)',
  'see https://example.com/"><img src=x onerror=window.__pwned=1> and mailto:a@example.com',
  '\u202Eevil right-to-left override\u202C and \u2067isolate',
  'W'.repeat(600),
];

/** A hub with PEOPLE: alice has bob, carol (Team) and dave (Friends) as contacts and follows them. */
export function seededHub(): MemoryHub {
  const hub = new MemoryHub();
  for (const person of PEOPLE) hub.addUser(person);
  for (const a of PEOPLE) {
    for (const b of PEOPLE) {
      if (a === b) continue;
      hub.addContact(a.id, b.id, [b.id === 'dave' ? 'Friends' : 'Team']);
      hub.follow(a.id, b.id);
    }
  }
  return hub;
}

const clients: PerchClient[] = [];
const mounted: Element[] = [];

/** A client of `userId` on `hub`, in memory and on its own (no shared tabs); not yet connected. */
export function clientOf(hub: MemoryHub, userId: string): PerchClient {
  const client = createClient({
    backend: memoryBackend({ hub }),
    auth: { token: hub.token(userId) },
    user: userId,
    storage: 'memory',
    tabs: 'single',
    reconnect: { baseDelay: 5, maxDelay: 20 },
  });
  clients.push(client);
  return client;
}

/** A connected client of `userId`. */
export async function connected(hub: MemoryHub, userId = 'alice'): Promise<PerchClient> {
  const client = clientOf(hub, userId);
  await client.connect();
  return client;
}

/** Creates `<tag>` with `attributes` and `client`, adds it to the page and waits for its first render. */
export async function mount<E extends LitElement>(
  tag: string,
  attributes: Record<string, string> = {},
  client?: PerchClient,
  parent: HTMLElement = document.body,
): Promise<E> {
  const element = document.createElement(tag) as E & { client?: PerchClient };
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (client) element.client = client;
  parent.append(element);
  mounted.push(parent === document.body ? element : parent);
  await element.updateComplete;
  return element;
}

/** Removes what the test mounted and disconnects its clients. Call in afterEach. */
export async function cleanup(): Promise<void> {
  for (const element of mounted.splice(0)) element.remove();
  for (const client of clients.splice(0)) await client.disconnect();
  document.documentElement.removeAttribute('dir');
  localStorage.clear();
}

/** Waits until `check()` is true; fails naming `what`. */
export async function until(check: () => unknown, what: string, timeout = 5000): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeout) throw new Error(`Timed out after ${timeout} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Every element inside `root`'s shadow root, descending into nested shadow roots. */
export function shadowElements(root: Element): Element[] {
  const out: Element[] = [];
  const walk = (node: ParentNode) => {
    for (const element of node.querySelectorAll('*')) {
      out.push(element);
      if (element.shadowRoot) walk(element.shadowRoot);
    }
  };
  if (root.shadowRoot) walk(root.shadowRoot);
  return out;
}

/** The first element matching `selector` in `host`'s shadow root (fails if none). */
export function $<E extends Element = HTMLElement>(host: Element, selector: string): E {
  const found = host.shadowRoot!.querySelector<E>(selector);
  if (!found) throw new Error(`<${host.localName}> renders no "${selector}"`);
  return found;
}

/** All elements matching `selector` in `host`'s shadow root. */
export const $$ = <E extends Element = HTMLElement>(host: Element, selector: string): E[] => [
  ...host.shadowRoot!.querySelectorAll<E>(selector),
];

/** Real key presses through the browser (not synthetic events), e.g. press('Shift+Tab', 'Enter'). */
export async function press(...keys: string[]): Promise<void> {
  for (const combo of keys) {
    const parts = combo.split('+');
    const key = parts.pop()!;
    for (const modifier of parts) await sendKeys({ down: modifier });
    await sendKeys({ press: key });
    for (const modifier of parts.reverse()) await sendKeys({ up: modifier });
  }
}

/** Types text with real key presses into the focused element. */
export const type = (text: string): Promise<void> => sendKeys({ type: text });

/** The element that has focus, looking through shadow roots. */
export function focused(): Element | null {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active;
}

/** Runs axe-core on `element` (shadow roots included) and fails listing every violation. */
export async function expectAccessible(element: Element): Promise<void> {
  const axe = (window as unknown as { axe: typeof import('axe-core') }).axe;
  const results = await axe.run(element, { resultTypes: ['violations'] });
  const report = results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
  expect(report, 'axe violations').to.deep.equal([]);
}

/** Tag names that a Perch component may render. */
const ALLOWED = new Set(
  'a abbr article bdi button div footer form h2 h3 header img input label li ol option p section select slot span strong textarea time ul'.split(' '),
);

/**
 * The XSS audit: only expected tags in the shadow DOM, no inline event handler attributes, no
 * script-capable URL in any link or image, every link `target="_blank" rel="noopener noreferrer"`,
 * images only as http(s) avatars, and no payload ever ran (`window.__pwned` unset).
 */
export function expectSafe(host: Element): void {
  for (const element of shadowElements(host)) {
    expect(ALLOWED.has(element.localName), `unexpected <${element.localName}>`).to.equal(true);
    for (const attribute of element.attributes) {
      expect(attribute.name, `attribute on <${element.localName}>`).not.to.match(/^on/i);
      expect(attribute.value, `${attribute.name} on <${element.localName}>`).not.to.match(/^\s*(javascript|data|vbscript):/i);
    }
    if (element.localName === 'a') {
      expect(element.getAttribute('href')).to.match(/^(https?|mailto|tel):/);
      expect(element.getAttribute('target')).to.equal('_blank');
      expect(element.getAttribute('rel')).to.equal('noopener noreferrer');
    }
    if (element.localName === 'img') {
      expect(element.getAttribute('src')).to.match(/^https?:/);
      expect(element.classList.contains('av'), 'an <img> that is not an avatar').to.equal(true);
    }
  }
  expect((window as { __pwned?: unknown }).__pwned, 'a payload ran').to.equal(undefined);
}

/** The visible text of `host`'s shadow DOM (nested shadow roots included). */
export const shadowText = (host: Element): string => shadowElements(host).map((e) => [...e.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join('')).join(' ');
