/**
 * One signed-in session of the embed: the client (WebSocket backend, the page's credentials) and
 * the one unread count a host page shows on its own button — unread chat messages plus feed
 * posts that mention the user and arrived since they last looked at their mentions.
 */
import { createClient, PerchError, type Auth, type AuthSource, type ConnectionStatus, type Message, type PerchClient, type Post } from '@perch/core';
import { websocketBackend } from '@perch/backend-ws';
import { mentions } from '@perch/protocol';
import type { EmbedOptions } from './config.js';

/** The unread count: `total` = `chats` + `mentions`. */
export interface Unread {
  total: number;
  chats: number;
  mentions: number;
}

/** What a session reports to the Perch() API. */
export interface SessionEvents {
  ready: (user: { id: string; name: string }) => void;
  status: (status: ConnectionStatus) => void;
  message: (message: Message) => void;
  unread: (unread: Unread) => void;
  error: (error: PerchError) => void;
}

/** Reports one session event. */
export type Emit = <E extends keyof SessionEvents>(event: E, ...args: Parameters<SessionEvents[E]>) => void;

/** How many recent mentions are fetched at start to count the unseen ones. */
const MENTIONS_PAGE = 50;

/**
 * Fetches a token from the site's backend with the page's cookies. The answer is JSON
 * `{ "token": "…" }` or the token as plain text. A 401/403 means "not signed in on the site";
 * any other 4xx but 408 and 429 is refused for good too.
 */
export async function fetchToken(url: string, fetcher: typeof fetch = fetch): Promise<Auth> {
  let response: Response;
  try {
    response = await fetcher(url, { credentials: 'include', cache: 'no-store', headers: { accept: 'application/json, text/plain' } });
  } catch (error) {
    throw new PerchError('unavailable', `Perch could not reach the token URL ${url}: ${(error as Error).message}`);
  }
  const status = response.status;
  if (status === 401 || status === 403) {
    throw new PerchError('unauthorized', `The token URL ${url} answered ${status}: the visitor is not signed in on this site.`);
  }
  // Another 4xx (404: a wrong URL or an unknown person) would be refused again on every retry.
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    throw new PerchError('unauthorized', `The token URL ${url} answered ${status}, so Perch cannot sign in: check the URL and what it answers for this visitor.`);
  }
  if (!response.ok) throw new PerchError('unavailable', `The token URL ${url} answered ${response.status}.`);
  const body = (await response.text()).trim();
  let token: unknown = body;
  if (body.startsWith('{')) {
    try {
      token = (JSON.parse(body) as { token?: unknown }).token;
    } catch {
      token = undefined;
    }
  }
  if (typeof token !== 'string' || token === '' || /\s/.test(token)) {
    throw new PerchError('unauthorized', `The token URL ${url} must answer { "token": "…" } or the token as plain text.`);
  }
  return { token };
}

/** The `sub` of a JWT, or undefined for anything else. */
export function subjectOf(token: string): string | undefined {
  try {
    const { sub } = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown };
    return typeof sub === 'string' && sub !== '' ? sub : undefined;
  } catch {
    return undefined;
  }
}

/** Who signed in last with this server on this device (for the cache while the token URL is unreachable). */
const lastUserKey = (server: string) => `perch:last-user:${server}`;
export const lastUser = {
  get: (server: string): string | undefined => {
    try {
      return globalThis.localStorage?.getItem(lastUserKey(server)) ?? undefined;
    } catch {
      return undefined;
    }
  },
  set: (server: string, user: string | undefined): void => {
    try {
      if (user === undefined) globalThis.localStorage?.removeItem(lastUserKey(server));
      else globalThis.localStorage?.setItem(lastUserKey(server), user);
    } catch {
      // Storage refused: the next offline start shows no cache, which is safe.
    }
  },
};

/**
 * The credentials the options name (undefined when they name none) and whose cache to open.
 * A token URL is asked once here, so the cache is the signed-in user's own even when the page
 * did not say who that is; its token serves the first connection. When the URL cannot be
 * reached (offline), the cache of the last user on this device is shown; when it refuses
 * (401/403), nobody's is. Throws that refusal.
 */
export async function authOf(options: EmbedOptions & { server: string }): Promise<{ auth: AuthSource; user?: string } | undefined> {
  if (options.token !== undefined) return { auth: { token: options.token }, ...withUser(options.user ?? subjectOf(options.token)) };
  if (options.tokenUrl !== undefined) {
    const url = options.tokenUrl;
    let first: Auth | undefined;
    let user = options.user;
    try {
      first = await fetchToken(url);
      user ??= subjectOf((first as { token: string }).token);
    } catch (error) {
      if ((error as PerchError).code === 'unauthorized') throw error;
      user ??= lastUser.get(options.server);
    }
    const auth = async () => {
      const token = first ?? (await fetchToken(url));
      first = undefined;
      return token;
    };
    return { auth, ...withUser(user) };
  }
  if (options.visitor !== undefined) return { auth: { visitor: options.visitor }, ...withUser(options.user) };
  return undefined;
}

const withUser = (user: string | undefined) => (user === undefined ? {} : { user });

/** The client for `options`: the Perch protocol over WebSocket to `options.server`. */
export function clientFor(options: EmbedOptions & { server: string }, auth: AuthSource, user: string | undefined): PerchClient {
  return createClient({
    backend: websocketBackend({ url: options.server }),
    auth,
    storage: options.storage ?? 'persistent',
    ...(user ? { user } : {}),
  });
}

/**
 * Deletes what Perch keeps on this device for `user` of `server`: the IndexedDB cache and outbox
 * (named by @perch/core as `perch:<backend name>:<user>`, the backend name being `ws:<url>`)
 * and the mentions mark. Call it after the client disconnected.
 */
export async function forgetDevice(server: string, user: string): Promise<void> {
  try {
    globalThis.localStorage?.removeItem(seenKey(user));
  } catch {
    // nothing stored
  }
  lastUser.set(server, undefined);
  const idb = globalThis.indexedDB;
  if (!idb) return;
  await new Promise<void>((resolve) => {
    const request = idb.deleteDatabase(`perch:ws:${server}:${user}`);
    request.onsuccess = request.onerror = request.onblocked = () => resolve();
  });
}

/** Reads and writes "mentions seen until" per user; private browsing may refuse storage. */
const seenKey = (userId: string) => `perch:mentions-seen:${userId}`;
function readSeen(userId: string): number | undefined {
  try {
    const value = Number(globalThis.localStorage?.getItem(seenKey(userId)));
    return Number.isFinite(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}
function writeSeen(userId: string, at: number): void {
  try {
    globalThis.localStorage?.setItem(seenKey(userId), String(at));
  } catch {
    // Storage refused: the count still resets for this page's lifetime.
  }
}

/** A running session. `stop()` disconnects it; the device cache stays (see `Perch('shutdown')`). */
export class Session {
  readonly client: PerchClient;
  #chats = 0;
  /** Ids of unseen posts that mention the user. */
  readonly #mentions = new Set<string>();
  #seenAt = 0;
  #me: string | undefined;
  #readyUser: { id: string; name: string } | undefined;
  /** Why the credentials were refused, once they were: the session has stopped. */
  #refusal: ConnectionStatus['error'];
  readonly #stops: Array<() => void> = [];
  readonly #emit: Emit;

  constructor(client: PerchClient, emit: Emit) {
    this.#emit = emit;
    this.client = client;
    const c = this.client;
    this.#stops.push(
      c.status.subscribe((status) => {
        // After a refusal, disconnect() clears the error from the client's status; the page keeps it.
        const refusal = this.#refusal;
        this.#emit('status', refusal && status.state === 'offline' ? { ...status, error: refusal } : status);
        if (status.state === 'online') void this.#online();
        this.#failed(status);
      }),
      c.unread.subscribe((chats) => {
        this.#chats = chats;
        this.#report();
      }),
      c.on('message', (message) => this.#emit('message', message)),
      c.on('post', (post) => this.#post(post)),
      c.on('error', (error) => this.#emit('error', error)),
    );
  }

  /** The current unread count. */
  get unread(): Unread {
    return { total: this.#chats + this.#mentions.size, chats: this.#chats, mentions: this.#mentions.size };
  }

  /** The signed-in user once the first connection succeeded. */
  get user(): { id: string; name: string } | undefined {
    return this.#readyUser;
  }

  /** Connects; failures show in the status and as `error` events, never as a rejection. */
  start(): void {
    this.client.connect().catch(() => {
      // Reported by #failed from the status.
    });
  }

  /**
   * Refused credentials end the session: a fixed token that expired, or a token URL saying the
   * visitor is not signed in (401/403), would be refused again on every retry. Says so once, as
   * an `error` event and in the console, and stops reconnecting.
   */
  #failed(status: ConnectionStatus): void {
    const error = status.error;
    if (!error || (error.code !== 'unauthorized' && error.code !== 'forbidden') || this.#refusal) return;
    this.#refusal = error;
    void this.client.disconnect();
    console.error(`Perch: signed out (${error.code}): ${error.message}`);
    this.#emit('error', new PerchError(error.code, error.message));
  }

  /** Disconnects and stops reporting. */
  async stop(): Promise<void> {
    for (const stop of this.#stops.splice(0)) stop();
    await this.client.disconnect();
  }

  /** Marks every mention as seen (the user looked at their mentions). */
  markMentionsRead(): void {
    this.#seenAt = Date.now();
    if (this.#me) writeSeen(this.#me, this.#seenAt);
    if (this.#mentions.size === 0) return;
    this.#mentions.clear();
    this.#report();
  }

  async #online(): Promise<void> {
    const user = this.client.user.get();
    if (!user) return;
    if (!this.#readyUser) {
      this.#me = user.id;
      // First visit on this device: mentions from before it are not "new".
      this.#seenAt = readSeen(user.id) ?? Date.now();
      if (readSeen(user.id) === undefined) writeSeen(user.id, this.#seenAt);
      this.#readyUser = { id: user.id, name: user.name };
      this.#emit('ready', this.#readyUser);
    }
    if (!this.client.capabilities.feed) return;
    try {
      const page = await this.client.feed({ source: { kind: 'mentions' }, limit: MENTIONS_PAGE });
      for (const post of page.posts) this.#post(post);
    } catch {
      // The count is a hint; a failed fetch leaves it as it was.
    }
  }

  #post(post: Post): void {
    const me = this.#me;
    if (!me || post.id === undefined || post.authorId === me || this.#mentions.has(post.id)) return;
    if ((post.sentAt ?? post.createdAt) <= this.#seenAt) return;
    const name = this.client.user.get()?.name;
    if (!mentions(post.text, me) && !(name && mentions(post.text, name))) return;
    this.#mentions.add(post.id);
    this.#report();
  }

  #report(): void {
    this.#emit('unread', this.unread);
  }
}
