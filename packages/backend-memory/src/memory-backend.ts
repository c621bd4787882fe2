import { PerchError, toPerchError, type Auth, type Backend, type BackendCapabilities, type BackendConnection, type BackendListener } from '@perch/core';
import { MemoryConnection } from './connection.js';
import { later } from './faults.js';
import type { MemoryHub } from './hub.js';

/** Options for {@link memoryBackend}. */
export interface MemoryBackendOptions {
  /** The hub the backend's connections share; several backends may share one hub. */
  hub: MemoryHub;
}

/** What the memory backend can do: everything. */
export const MEMORY_CAPABILITIES: Readonly<BackendCapabilities> = Object.freeze({
  feed: true,
  presence: true,
  typing: true,
  receipts: true,
  groups: true,
  history: true,
  directory: true,
  edits: true,
  support: true,
});

/**
 * Creates a backend named `"memory"` whose connections talk to `hub`. `connect` answers after one
 * sampled latency; it rejects with `unavailable` while the hub is offline, with an injected
 * `rejectConnect` error, or with `unauthorized` for an unknown token.
 */
export function memoryBackend(options: MemoryBackendOptions): Backend {
  const { hub } = options;
  return {
    name: 'memory',
    capabilities: { ...MEMORY_CAPABILITIES },
    connect(auth: Auth, listener: BackendListener): Promise<BackendConnection> {
      return new Promise<BackendConnection>((resolve, reject) => {
        later(hub.faults, () => {
          try {
            if (typeof auth !== 'object' || auth === null) throw new PerchError('unauthorized', 'No credentials given.');
            const { user, visitorToken } = hub.authenticate(auth);
            const session = visitorToken === undefined ? { user } : { user, visitorToken };
            resolve(new MemoryConnection(hub, session, listener));
          } catch (error) {
            reject(toPerchError(error));
          }
        });
      });
    },
  };
}
