import type { ErrorCode } from '@perch/protocol';
import type { Change } from './changes.js';
import type { ConnectionStatus } from './connection.js';
import type { ClientEvents } from './events.js';

/** Messages between the tabs of one user on one site. */
export type TabMessage =
  /** Leader → all: changes it persisted, to apply without writing again. Follower → all: outbox entries it queued. */
  | { t: 'changes'; changes: Change[] }
  /** Leader → all: its connection status. */
  | { t: 'status'; status: ConnectionStatus }
  /** Leader → all: an event it emitted, for the other tabs' listeners. */
  | { t: 'emit'; event: keyof ClientEvents; args: unknown[] }
  /** Follower → leader: say your status. */
  | { t: 'hello' }
  /** New leader → all: ask me again what the old leader left unanswered. */
  | { t: 'leader' }
  /** Follower → leader: run a command on the connection. */
  | { t: 'call'; id: string; method: string; args: unknown[] }
  /** Leader → follower: the command's result. */
  | { t: 'reply'; id: string; value?: unknown; error?: { code: ErrorCode; message: string } };

/** Leader election and messaging among tabs. */
export interface TabCoordinator {
  /** Waits for leadership in the background and calls `onLeader` once this tab holds it. */
  elect(onLeader: () => void): void;
  send(message: TabMessage): void;
  /** Returns the function that stops listening. */
  listen(callback: (message: TabMessage) => void): () => void;
  /** Gives up leadership (another tab takes over) and stops messaging. */
  close(): void;
}

/**
 * Tabs coordinated with a Web Lock (held by the leader for as long as it lives; the browser
 * hands it to the next waiting tab when the leader closes) and a BroadcastChannel.
 */
export function browserTabs(name: string, locks: LockManager = navigator.locks): TabCoordinator {
  const channel = new BroadcastChannel(name);
  const abort = new AbortController();
  let release = () => {};
  return {
    elect(onLeader) {
      locks
        .request(name, { signal: abort.signal }, () => {
          onLeader();
          return new Promise<void>((resolve) => (release = resolve));
        })
        .catch(() => {}); // aborted by close()
    },
    send: (message) => channel.postMessage(message),
    listen(callback) {
      const handler = (event: MessageEvent<TabMessage>) => callback(event.data);
      channel.addEventListener('message', handler);
      return () => channel.removeEventListener('message', handler);
    },
    close() {
      abort.abort();
      release();
      channel.close();
    },
  };
}

/** True where Web Locks and BroadcastChannel exist (browsers; not Node 20). */
export const canShareTabs = (): boolean =>
  typeof BroadcastChannel === 'function' && typeof navigator === 'object' && !!navigator.locks;
