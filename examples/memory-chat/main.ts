/**
 * The memory-chat demo: Alice and Bob side by side, each with their own Perch client on one
 * in-page hub, plus a toolbar that breaks the "network" on purpose. Plain DOM, no framework.
 */
import { MemoryHub, memoryBackend } from '@perch/backend-memory';
import { createClient, type Id, type PerchClient } from '@perch/core';
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

// Mount only on the demo page (marked with data-perch-demo), never when a test imports this module.
const host = typeof document === 'object' ? document.querySelector<HTMLElement>('#demo[data-perch-demo]') : null;
if (host) mountDemo(host);
