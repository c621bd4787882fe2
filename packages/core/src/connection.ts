import type { ErrorCode } from '@perch/protocol';
import { PerchError, toPerchError, type AuthSource, type Backend, type BackendConnection, type BackendListener, type CloseReason } from './backend.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { atom, type ReadableStore } from './store.js';

/**
 * `offline`: not trying (never started, stopped, or refused for good);
 * `connecting`: an attempt (or the catch-up after it) is under way; `online`: connected and caught up;
 * `reconnecting`: waiting for the next attempt (see `retryAt`).
 */
export type ConnectionState = 'offline' | 'connecting' | 'online' | 'reconnecting';

/** The connection as the UI shows it. */
export interface ConnectionStatus {
  state: ConnectionState;
  /** Failed attempts since the last successful sync. */
  attempt: number;
  /** When the next attempt is due, while `reconnecting`. */
  retryAt?: number;
  /** Why the last attempt or connection failed. */
  error?: { code: ErrorCode; message: string };
  /** False in a tab that uses another tab's connection. */
  leader: boolean;
}


/**
 * How long a command waits for a connection attempt under way (see {@link Connector.open}): long
 * enough for a slow network's handshake, short enough that the app hears `unavailable` before the
 * user gives up. The connection opening is what counts, not the catch-up after it.
 */
export const CONNECT_WAIT = 10_000;

/** Where and how the connector connects (the client's options). */
export interface ConnectorOptions {
  backend: Backend;
  auth: AuthSource;
  reconnect?: BackoffOptions;
}

/** What the connector calls once a connection is open. */
export interface ConnectorHooks {
  /** Events from the backend (without `closed`, which the connector handles). */
  listener: Omit<BackendListener, 'closed'>;
  /** Resumes after connecting; a throw drops the connection and schedules a retry. */
  opened(connection: BackendConnection): Promise<void>;
}

/**
 * The connection state machine. `transition` is the only place the status changes; reconnects
 * use exponential backoff with full jitter and never come sooner than the server's retry-after.
 */
export class Connector {
  readonly #state = atom<ConnectionStatus>({ state: 'offline', attempt: 0, leader: true });
  /** The status, as a store. */
  readonly status: ReadableStore<ConnectionStatus> = this.#state;
  /** The open connection, while online. */
  connection: BackendConnection | undefined;
  #wanted?: boolean;
  #generation = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The `open()` calls waiting for the attempt under way; each checks again on every change. */
  readonly #waiting = new Set<(late?: boolean) => void>();

  readonly #options: ConnectorOptions;
  readonly #hooks: ConnectorHooks;

  constructor(options: ConnectorOptions, hooks: ConnectorHooks) {
    this.#options = options;
    this.#hooks = hooks;
  }

  /** Starts connecting (and reconnecting) until `stop`. */
  start(): void {
    if (this.#wanted) return;
    this.#wanted = true;
    void this.#attempt();
  }

  /** Closes the connection and stops reconnecting. The status is `offline` without an error: a stop is no failure. */
  stop(): void {
    this.#wanted = false;
    this.#generation++;
    clearTimeout(this.#timer);
    this.#drop();
    this.transition({ state: 'offline', attempt: 0, error: undefined });
  }

  /** Tries at once instead of waiting out the backoff (e.g. when the browser comes back online). */
  retryNow(): void {
    if (this.#wanted && this.#state.get().state === 'reconnecting') {
      clearTimeout(this.#timer);
      void this.#attempt();
    }
  }

  /** Changes the status; the one place that does. */
  transition(patch: Partial<ConnectionStatus>): void {
    const next = { ...this.#state.get(), ...patch };
    if (patch.state && patch.state !== 'reconnecting') delete next.retryAt;
    this.#state.set(next);
    this.#waiting.forEach((check) => check());
  }

  /**
   * The open connection, for a command: at once when there is one; while an attempt is under way
   * (`connecting`: the first connect, a tab taking over, a retry), once it opens. Rejects
   * `unavailable` at once when no attempt is under way (`offline`, or `reconnecting`: backing off
   * between attempts), and while waiting when the attempt fails or is stopped (the state leaves
   * `connecting` without a connection) or after {@link CONNECT_WAIT} ms.
   */
  open(): Promise<BackendConnection> {
    return new Promise((resolve, reject) => {
      const check = (late?: boolean) => {
        if (this.connection) resolve(this.connection);
        else if (late || this.#state.get().state !== 'connecting') reject(new PerchError('unavailable', 'Offline: this needs a connection. Try again once online.'));
        else return;
        clearTimeout(timer);
        this.#waiting.delete(check);
      };
      const timer = setTimeout(check, CONNECT_WAIT, true);
      this.#waiting.add(check);
      check();
    });
  }

  async #attempt(): Promise<void> {
    const generation = ++this.#generation;
    this.transition({ state: 'connecting' });
    let connection: BackendConnection | undefined;
    try {
      const { auth } = this.#options;
      const credentials = typeof auth === 'function' ? await auth() : auth;
      if (generation !== this.#generation) return;
      connection = await this.#options.backend.connect(credentials, {
        ...this.#hooks.listener,
        closed: (reason) => {
          if (this.connection === connection) this.#lost(reason);
        },
      }, auth);
      if (generation !== this.#generation) return connection.close();
      this.connection = connection;
      // Commands work from here (the waiting ones run now), but the status says `online` only once caught up.
      this.#waiting.forEach((check) => check());
      await this.#hooks.opened(connection);
      if (this.connection === connection) this.transition({ state: 'online', attempt: 0, error: undefined });
    } catch (error) {
      if (generation !== this.#generation || (connection && this.connection !== connection)) return;
      this.#lost(toPerchError(error));
    }
  }

  #lost(reason: CloseReason): void {
    this.#drop();
    if (!this.#wanted) return;
    const error = { code: reason.code, message: reason.message };
    // Fixed credentials that the server refused will be refused again: stop and say so.
    if ((reason.code === 'unauthorized' || reason.code === 'forbidden') && typeof this.#options.auth !== 'function') {
      this.#wanted = false;
      this.transition({ state: 'offline', error });
      return;
    }
    const attempt = this.#state.get().attempt;
    const delay = backoffDelay(attempt, this.#options.reconnect, reason.retryAfter);
    this.transition({ state: 'reconnecting', attempt: attempt + 1, retryAt: Date.now() + delay, error });
    const generation = this.#generation;
    this.#timer = setTimeout(() => {
      if (generation === this.#generation) void this.#attempt();
    }, delay);
  }

  #drop(): void {
    const connection = this.connection;
    this.connection = undefined;
    connection?.close();
  }
}
