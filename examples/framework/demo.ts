/** The demo server's sign-in endpoints (`perch-server --demo`), on the page's own origin. */
import type { Id, User } from '@perch/core';

/** The WebSocket URL of the server that served this page (it accepts upgrades on any path). */
export const socketUrl = (): string => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${path} answered HTTP ${response.status}. Is this page served by perch-server --demo?`);
  return (await response.json()) as T;
}

/** Everyone in the demo company. */
export const demoPeople = (): Promise<User[]> => getJson<User[]>('/demo/people');

/** A fresh token for a demo person (the demo mints one for anybody who asks: never do that in production). */
export const demoToken = (userId: Id): Promise<{ token: string; user: User }> => getJson(`/demo/token?user=${encodeURIComponent(userId)}`);
