import {
  PerchError,
  type Auth,
  type AuthSource,
  type BackendConnection,
  type BackendListener,
  type CloseReason,
  type MessagePage,
  type PostPage,
  type Session,
} from '@perch/core';
import {
  ERROR_CODES,
  MAX_FRAME_BYTES,
  parseFrame,
  PROTOCOL_VERSION,
  validateServerFrame,
  type CommandName,
  type Commands,
  type Contact,
  type Conversation,
  type ErrorCode,
  type FeedSource,
  type Id,
  type Message,
  type Post,
  type Presence,
  type PresenceShow,
  type ServerFrame,
  type ServerInfo,
  type User,
} from '@perch/protocol';
import { closeReason, type ConnectionError } from './close-codes.js';
import { OPEN, type SocketLike } from './socket.js';

/** Settings of one connection, filled in by `websocketBackend`. */
export interface WsConnectionOptions {
  /** Milliseconds a request may wait for its answer before the connection is declared dead. */
  requestTimeout: number;
  /** Milliseconds from opening the socket to the server's `welcome`. */
  connectTimeout: number;
  /** Milliseconds of silence from the server after which the client sends `ping` (default 25 000; 0: never). */
  heartbeatInterval?: number;
  /** Milliseconds to wait for any frame after a `ping` before the connection is declared dead (default 10 000). */
  heartbeatTimeout?: number;
  /** Called with what the server says about itself, before `open` resolves. */
  welcomed(server: ServerInfo): void;
  /** The app's `auth`: when it is a function, the token is renewed (`reauth`) before it expires. */
  source?: AuthSource;
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: PerchError): void;
  timer: ReturnType<typeof setTimeout>;
}

type EventFrame = Extract<ServerFrame, { type: 'event' }>;

const CLOSED = 'The connection to the server is closed; the client reconnects by itself.';
const encoder = new TextEncoder();

/** True when `text` is at most `limit` bytes in UTF-8 (encoding only when it could be over). */
function fits(text: string, limit: number): boolean {
  return text.length * 3 <= limit || encoder.encode(text).length <= limit;
}

/** Why a connection that did not answer `what` within `ms` milliseconds is ended. */
const unanswered = (what: string, ms: number) => `The server did not answer "${what}" within ${ms} ms; the connection is considered dead and will be reopened.`;
const knownCode = (code: string): ErrorCode => ((ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'internal');
const delay = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;

/**
 * One Perch protocol session over one WebSocket: the `hello`/`welcome` handshake, requests
 * matched to answers by id, server events passed to the listener in arrival order. It never
 * reconnects: when the socket ends it tells the listener once, and the core opens a new one.
 */
export class WsConnection implements BackendConnection {
  readonly #socket: SocketLike;
  readonly #listener: BackendListener;
  readonly #options: WsConnectionOptions;
  readonly #pending = new Map<string, Pending>();
  #phase: 'hello' | 'open' | 'closed' = 'hello';
  #session: Session | undefined;
  #nextId = 0;
  #maxFrameBytes = MAX_FRAME_BYTES;
  /** The id-less `error` frame just received, which may explain a close that follows. */
  #lastError: ConnectionError | undefined;
  #warned = false;
  /** The heartbeat's timer: a `ping` after a silence, then the end of the wait for an answer. */
  #silence: ReturnType<typeof setTimeout> | undefined;
  /** True once the server turned out not to know `ping`. */
  #pingRefused = false;
  /** When the token is renewed (`reauth`), before the server closes the connection at its expiry. */
  #renewal: ReturnType<typeof setTimeout> | undefined;
  #handshake: { resolve(connection: WsConnection): void; reject(error: PerchError): void; timer: ReturnType<typeof setTimeout> } | undefined;

  private constructor(socket: SocketLike, listener: BackendListener, options: WsConnectionOptions) {
    this.#socket = socket;
    this.#listener = listener;
    this.#options = options;
  }

  /**
   * Says `hello` with `auth` on `socket` (opening or open) and resolves once the server welcomes
   * the user. Rejects with the server's error code, with the meaning of the close code when the
   * socket closes first, or with `timeout`.
   */
  static open(socket: SocketLike, auth: Auth, listener: BackendListener, options: WsConnectionOptions): Promise<WsConnection> {
    const connection = new WsConnection(socket, listener, options);
    return new Promise<WsConnection>((resolve, reject) => {
      const timer = setTimeout(() => {
        connection.#refuse(new PerchError('timeout', `The server did not welcome us within ${options.connectTimeout} ms; retrying.`));
      }, options.connectTimeout);
      connection.#handshake = { resolve, reject, timer };
      const hello = () => connection.#write(JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, auth }));
      socket.onopen = hello;
      socket.onmessage = (event) => {
        connection.#receive(event.data);
        connection.#heard();
      };
      socket.onclose = (event) => connection.#closed(event.code, event.reason);
      // Errors are always followed by a close event, which reports them; this handler must stay
      // set because `ws` throws on an error nobody listens to.
      socket.onerror = () => {};
      if (socket.readyState === OPEN) hello();
    });
  }

  /** The signed-in user, from the server's `welcome` (set before `open` resolves, so always there). */
  get session(): Session {
    return this.#session!;
  }

  sendMessage(input: { conversationId: Id; clientId: string; text: string; createdAt: number }): Promise<Message> {
    return this.#request('sendMessage', input);
  }

  editMessage(input: { conversationId: Id; id: Id; text: string }): Promise<Message> {
    return this.#request('editMessage', input);
  }

  deleteMessage(input: { conversationId: Id; id: Id }): Promise<Message> {
    return this.#request('deleteMessage', input);
  }

  conversations(): Promise<Conversation[]> {
    return this.#request('conversations', {});
  }

  history(input: { conversationId: Id; after?: number; before?: number; limit: number }): Promise<MessagePage> {
    return this.#request('history', input);
  }

  openDirect(userId: Id): Promise<Conversation> {
    return this.#request('openDirect', { userId });
  }

  createGroup(input: { title: string; members: Id[]; clientId?: string }): Promise<Conversation> {
    return this.#request('createGroup', input);
  }

  markRead(input: { conversationId: Id; seq: number }): Promise<void> {
    return this.#command('markRead', input);
  }

  markDelivered(input: { conversationId: Id; seq: number }): Promise<void> {
    return this.#command('markDelivered', input);
  }

  setTyping(input: { conversationId: Id; on: boolean }): Promise<void> {
    return this.#command('setTyping', input);
  }

  roster(): Promise<{ contacts: Contact[]; presence: Presence[] }> {
    return this.#request('roster', {});
  }

  addContact(input: { userId: Id; groups: string[] }): Promise<Contact> {
    return this.#request('addContact', input);
  }

  removeContact(userId: Id): Promise<void> {
    return this.#command('removeContact', { userId });
  }

  directory(): Promise<User[]> {
    return this.#request('directory', {});
  }

  profile(userId: Id): Promise<User> {
    return this.#request('profile', { userId });
  }

  setPresence(input: { show: Exclude<PresenceShow, 'offline'>; status?: string }): Promise<void> {
    return this.#command('setPresence', input);
  }

  post(input: { clientId: string; text: string; createdAt: number; replyTo?: Id }): Promise<Post> {
    return this.#request('post', input);
  }

  feed(input: { source: FeedSource; before?: Id; limit: number }): Promise<PostPage> {
    return this.#request('feed', input);
  }

  like(input: { postId: Id; on: boolean }): Promise<Post> {
    return this.#request('like', input);
  }

  follow(input: { userId: Id; on: boolean }): Promise<void> {
    return this.#command('follow', input);
  }

  /** Closes the socket; pending requests reject with `unavailable` and the listener hears nothing. */
  close(): void {
    this.#shutDown('The connection was closed.');
  }

  /** A request whose result is `null` on the wire and nothing for the caller. */
  #command(cmd: 'markRead' | 'markDelivered' | 'setTyping' | 'removeContact' | 'setPresence' | 'follow', args: Commands[typeof cmd]['args']): Promise<void> {
    return this.#request(cmd, args).then(() => undefined);
  }

  /** Sends a `req` frame and settles with the `res` or `error` frame of the same id. */
  #request<N extends CommandName>(cmd: N, args: Commands[N]['args']): Promise<Commands[N]['result']> {
    if (this.#phase !== 'open') return Promise.reject(new PerchError('unavailable', CLOSED));
    const id = String(++this.#nextId);
    const frame = JSON.stringify({ type: 'req', id, cmd, args });
    if (!fits(frame, this.#maxFrameBytes)) {
      return Promise.reject(
        new PerchError('too_large', `This ${cmd} request is larger than the ${this.#maxFrameBytes} bytes the server accepts; make the text shorter.`),
      );
    }
    return new Promise<Commands[N]['result']>((resolve, reject) => {
      const timeout = this.#options.requestTimeout;
      const timer = setTimeout(() => {
        if (!this.#pending.delete(id)) return;
        const message = unanswered(cmd, timeout);
        reject(new PerchError('timeout', message));
        this.#lost({ code: 'timeout', message });
      }, timeout);
      this.#pending.set(id, { resolve: (result) => resolve(result as Commands[N]['result']), reject, timer });
      if (!this.#write(frame)) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(new PerchError('unavailable', CLOSED));
      }
    });
  }

  /** Sends a text frame; false when the socket cannot take it. */
  #write(text: string): boolean {
    if (this.#socket.readyState !== OPEN) return false;
    try {
      this.#socket.send(text);
      return true;
    } catch {
      return false;
    }
  }

  #receive(data: unknown): void {
    if (this.#phase === 'closed') return;
    const frame = this.#parse(data);
    if (!frame) return;
    if (frame.type !== 'error') this.#lastError = undefined;
    switch (frame.type) {
      case 'welcome':
        return this.#welcome(frame);
      case 'res': {
        const pending = this.#take(frame.id);
        return pending?.resolve(frame.result ?? undefined);
      }
      case 'error': {
        const error = new PerchError(knownCode(frame.code), frame.message, delay(frame.retryAfter));
        if (frame.id !== undefined) return this.#take(frame.id)?.reject(error);
        // After welcome the only frame we send without an id is `ping`, so this is a server older
        // than the heartbeat refusing it. Each refusal would count against its budget of malformed
        // frames (ten close the socket with 1002): stop pinging on this connection and rely on the
        // request timeouts. The refusal still proved the connection alive.
        if (this.#phase === 'open' && error.code === 'bad_request') return void (this.#pingRefused = true);
        this.#lastError = error;
        // Before `welcome` an error frame is the answer to `hello`: the sign-in was refused.
        if (this.#phase === 'hello') this.#refuse(error);
        return;
      }
      case 'event':
        if (this.#phase === 'open') this.#dispatch(frame);
        return;
    }
  }

  /**
   * Something arrived, so the connection lives: restart the wait. After `heartbeatInterval` ms of
   * silence send `ping` (and call this again with `pinged`); when nothing at all answers within
   * `heartbeatTimeout` ms, end the connection as a request timeout would. Runs after each frame,
   * so `welcome` starts it.
   */
  #heard(pinged?: boolean): void {
    clearTimeout(this.#silence);
    const { heartbeatInterval = 25_000, heartbeatTimeout = 10_000 } = this.#options;
    if (this.#phase !== 'open' || this.#pingRefused || !heartbeatInterval) return;
    const timer = setTimeout(() => {
      if (pinged) {
        return this.#lost({ code: 'timeout', message: unanswered('ping', heartbeatTimeout) });
      }
      this.#write('{"type":"ping"}');
      this.#heard(true);
    }, pinged ? heartbeatTimeout : heartbeatInterval);
    // Browsers' timers are numbers; Node's would keep the process alive without this.
    (timer as { unref?: () => void }).unref?.();
    this.#silence = timer;
  }

  #parse(data: unknown): ServerFrame | undefined {
    if (typeof data !== 'string') {
      this.#warn('a binary frame');
      return undefined;
    }
    const parsed = parseFrame(data);
    const frame = parsed.ok ? validateServerFrame(parsed.value) : parsed;
    if (frame.ok) return frame.value;
    this.#warn(`a malformed frame (${frame.error})`);
    return undefined;
  }

  #warn(what: string): void {
    if (this.#warned) return;
    this.#warned = true;
    console.warn(`Perch: ignored ${what} from the server; further bad frames on this connection are ignored silently.`);
  }

  #take(id: string): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    return pending;
  }

  #welcome(frame: Extract<ServerFrame, { type: 'welcome' }>): void {
    // While saying hello the handshake is always there: `open` sets it before any frame can come.
    const handshake = this.#handshake!;
    if (this.#phase !== 'hello') return;
    const { user, visitorToken, expiresIn } = frame.session;
    this.#session = typeof visitorToken === 'string' ? { user, visitorToken } : { user };
    this.#renewIn(expiresIn);
    const limit = frame.server.limits?.maxFrameBytes;
    if (typeof limit === 'number' && limit > 0) this.#maxFrameBytes = Math.min(limit, MAX_FRAME_BYTES);
    this.#options.welcomed(frame.server);
    this.#phase = 'open';
    clearTimeout(handshake.timer);
    this.#handshake = undefined;
    handshake.resolve(this);
  }

  /**
   * Renews the token a minute before it expires (halfway, for a short one) with a fresh one from
   * the app's auth function, and again before that one expires. Without a function, or when
   * renewing fails, the server closes the connection at the expiry (4004) and the core reconnects
   * with whatever the app's auth gives then.
   */
  #renewIn(expiresIn = NaN): void {
    const source = this.#options.source;
    const delay = Math.max(expiresIn - 6e4, expiresIn / 2);
    // Not when under a second away (a token function that keeps answering the same token cannot
    // make it spin), nor past 2e9 ms (~23 days; a timer set more than 2^31 - 1 ms ahead fires at once).
    if (typeof source == 'function' && delay >= 1e3 && delay < 2e9) {
      this.#renewal = setTimeout(async () => {
        try {
          // A visitor's sign-in has no expiry: this is a token sign-in, and `{ token }` is what reauth takes.
          this.#renewIn((await this.#request('reauth', (await source()) as { token: string })).expiresIn);
        } catch {
          // Not renewed: the connection lasts until the expiry, and the next one signs in afresh.
        }
      }, delay);
    }
  }

  #dispatch(frame: EventFrame): void {
    const listener = this.#listener;
    try {
      // validateServerFrame let through only the events the listener has a method for.
      if (frame.event !== 'contact') return (listener[frame.event] as (data: unknown) => void)(frame.data);
      const { contact, removed } = frame.data;
      return removed === true ? listener.contact(contact, true) : listener.contact(contact);
    } catch (error) {
      // A throwing listener must not take the socket's event loop down with it.
      console.error(`Perch: the "${frame.event}" event handler threw`, error);
    }
  }

  /** The socket closed: explain why to whoever is waiting. */
  #closed(code: number, reason: string): void {
    if (this.#phase === 'closed') return;
    const why = closeReason(code, reason, this.#lastError);
    if (this.#phase === 'hello') return this.#refuse(new PerchError(why.code, why.message, why.retryAfter));
    this.#lost(why);
  }

  /** The handshake failed: reject `open` and close. */
  #refuse(error: PerchError): void {
    const handshake = this.#handshake;
    this.#handshake = undefined;
    this.#shutDown(error.message);
    if (handshake) {
      clearTimeout(handshake.timer);
      handshake.reject(error);
    }
  }

  /** An open connection ended without `close()`: tell the listener, once. */
  #lost(reason: CloseReason): void {
    if (this.#phase !== 'open') return;
    this.#shutDown(reason.message);
    this.#listener.closed(reason);
  }

  /** Fails pending requests with `unavailable` and closes the socket, once. */
  #shutDown(message: string): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    clearTimeout(this.#silence);
    clearTimeout(this.#renewal);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new PerchError('unavailable', message));
    }
    try {
      if (this.#socket.readyState <= OPEN) this.#socket.close(1000, 'Closed by the client.');
    } catch {
      // already closing
    }
  }
}
