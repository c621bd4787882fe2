/**
 * The memory-chat demo: Alice and Bob side by side, each with their own Perch client on one
 * in-page hub, plus a toolbar that breaks the "network" on purpose. Plain DOM, no framework.
 */
import { MemoryHub, memoryBackend } from '@perch/backend-memory';
import { websocketBackend } from '@perch/backend-ws';
import { createClient, type Id, type PerchClient, type User } from '@perch/core';
import { DEMO_PEOPLE, createDemoHub } from './demo-hub.js';
import { el, type View } from './element.js';
import { personPanel } from './panel.js';
import { faultToolbar } from './toolbar.js';

export { createDemoHub, DEMO_PEOPLE };

/** A mounted demo. */
export interface Demo {
  hub: MemoryHub;
  /** Every client the demo runs, by user id: `alice` and `bob` have panels; colleagues run headless. */
  clients: Record<Id, PerchClient>;
  /** Disconnects every client and removes the demo from the page. The hub keeps its data. */
  destroy(): void;
}

/** Colleagues who are "at their desks" while the demo runs, with a presence of their own. */
const COLLEAGUES: ReadonlyArray<{ id: Id; show: 'online' | 'away' | 'dnd'; status: string }> = [
  { id: 'carol', show: 'dnd', status: 'On a call with a customer' },
  { id: 'dev', show: 'away', status: 'Back at 14:00' },
];

function demoClient(hub: MemoryHub, userId: Id): PerchClient {
  return createClient({
    backend: memoryBackend({ hub }),
    auth: { token: hub.token(userId) },
    user: userId,
    storage: 'memory',
    tabs: 'single',
    // Quicker than the default (0.5 s doubling to 30 s) so the demo recovers while you watch.
    reconnect: { baseDelay: 250, maxDelay: 4000 },
  });
}

/** Mounts the demo into `root`: a fault toolbar and one panel each for Alice and Bob. */
export function mountDemo(root: HTMLElement, hub: MemoryHub = createDemoHub()): Demo {
  const person = (id: Id) => {
    const found = DEMO_PEOPLE.find((p) => p.id === id);
    if (!found) throw new Error(`The demo hub has no user "${id}"; mount it with createDemoHub().`);
    return found;
  };
  const alice = person('alice');
  const bob = person('bob');
  const clients: Record<Id, PerchClient> = { alice: demoClient(hub, 'alice'), bob: demoClient(hub, 'bob') };
  for (const { id, show, status } of COLLEAGUES) {
    const client = (clients[id] = demoClient(hub, id));
    // Presence lives on the server, so setting it once survives later reconnects.
    client
      .connect()
      .then(() => client.setPresence({ show, status }))
      .catch(() => {});
  }

  const views: View[] = [faultToolbar(hub), personPanel(clients.alice!, alice, bob), personPanel(clients.bob!, bob, alice)];
  const container = el('div', { class: 'perch-demo' }, views[0]!.element, el('div', { class: 'panels' }, views[1]!.element, views[2]!.element));
  root.append(container);

  return {
    hub,
    clients,
    destroy() {
      for (const view of views) view.destroy();
      for (const client of Object.values(clients)) void client.disconnect();
      container.remove();
    },
  };
}

/** A demo person's token and profile from `perch-server --demo` (its `/demo/token` endpoint). */
async function demoLogin(userId: Id): Promise<{ token: string; user: User }> {
  const response = await fetch(`/demo/token?user=${encodeURIComponent(userId)}`);
  if (!response.ok) throw new Error(`perch-server --demo did not give a token for "${userId}" (HTTP ${response.status}).`);
  return (await response.json()) as { token: string; user: User };
}

/**
 * The same two panels against a real `perch-server --demo` (open the page it serves with
 * `?server`): the WebSocket backend instead of the in-page hub, tokens from the demo login.
 */
export async function mountServerDemo(root: HTMLElement, url = location.origin.replace(/^http/, 'ws')): Promise<Omit<Demo, 'hub'>> {
  const [alice, bob] = await Promise.all([demoLogin('alice'), demoLogin('bob')]);
  const serverClient = (userId: Id) =>
    createClient({
      backend: websocketBackend({ url }),
      // Called before every connection attempt, so an expired demo token is replaced.
      auth: async () => ({ token: (await demoLogin(userId)).token }),
      user: userId,
      storage: 'memory',
      tabs: 'single',
      reconnect: { baseDelay: 250, maxDelay: 4000 },
    });
  const clients: Record<Id, PerchClient> = { alice: serverClient('alice'), bob: serverClient('bob') };
  const views: View[] = [personPanel(clients.alice!, alice.user, bob.user), personPanel(clients.bob!, bob.user, alice.user)];
  const container = el(
    'div',
    { class: 'perch-demo' },
    el('p', { class: 'server-note', role: 'note' }, `Connected to perch-server at ${url}: stop it and start it again to watch the outbox at work.`),
    el('div', { class: 'panels' }, views[0]!.element, views[1]!.element),
  );
  root.append(container);
  return {
    clients,
    destroy() {
      for (const view of views) view.destroy();
      for (const client of Object.values(clients)) void client.disconnect();
      container.remove();
    },
  };
}

// Mount only on the demo page (marked with data-perch-demo), never when a test imports this module.
const host = typeof document === 'object' ? document.querySelector<HTMLElement>('#demo[data-perch-demo]') : null;
if (host && new URLSearchParams(location.search).has('server')) {
  mountServerDemo(host).catch((error: Error) => host.append(el('p', { class: 'notice', role: 'alert' }, error.message)));
} else if (host) {
  mountDemo(host);
}
