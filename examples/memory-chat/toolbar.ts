import type { MemoryHub } from '@perch/backend-memory';
import { el, type View } from './element.js';

/** Latency choices: a fixed delay, or a random range per answer and event. */
const LATENCIES: ReadonlyArray<{ label: string; value: number | [number, number] }> = [
  { label: 'None', value: 0 },
  { label: '50 ms', value: 50 },
  { label: '300 ms', value: 300 },
  { label: '1 s', value: 1000 },
  { label: '20–800 ms (jittery)', value: [20, 800] },
];

/**
 * Buttons that drive the hub's fault injection: take the "server" offline and back, drop every
 * connection, and slow every answer and event down.
 */
export function faultToolbar(hub: MemoryHub): View {
  const offline = el('button', { type: 'button', 'aria-pressed': 'false', 'data-action': 'offline' }, 'Go offline');
  const drop = el('button', { type: 'button', 'data-action': 'drop' }, 'Drop connections');
  const latency = el(
    'select',
    { id: 'perch-demo-latency', 'data-action': 'latency' },
    ...LATENCIES.map(({ label }, index) => el('option', { value: index }, label)),
  );
  const summary = el('span', { class: 'hub-summary', role: 'status' });
  const element = el(
    'div',
    { class: 'toolbar', role: 'group', 'aria-label': 'Simulated network' },
    el('span', { class: 'toolbar-title' }, 'Network'),
    offline,
    drop,
    el('label', { for: latency.id }, 'Latency'),
    latency,
    summary,
  );

  const update = () => {
    const down = hub.faults.offline;
    offline.textContent = down ? 'Go online' : 'Go offline';
    offline.setAttribute('aria-pressed', String(down));
    const count = hub.connectionCount();
    summary.textContent = `${down ? 'Hub offline' : 'Hub online'} · ${count} connection${count === 1 ? '' : 's'}`;
  };

  offline.addEventListener('click', () => {
    const goingOnline = hub.faults.offline;
    hub.setOffline(!goingOnline);
    // A browser fires "online" when the network comes back; Perch clients then retry at once
    // instead of waiting out their backoff. The demo's "network" is the hub, so it does the same.
    if (goingOnline) window.dispatchEvent(new Event('online'));
    update();
  });
  drop.addEventListener('click', () => {
    hub.dropConnections();
    update();
  });
  latency.addEventListener('change', () => {
    hub.faults.latency = LATENCIES[Number(latency.value)]?.value ?? 0;
  });

  // The connection count changes as clients reconnect; a cheap poll keeps the summary honest.
  const timer = setInterval(update, 500);
  update();
  return { element, destroy: () => clearInterval(timer) };
}
