/**
 * One WebSocket connection: the hello handshake, then requests answered in arrival order, events
 * pushed from the fan-out, and the limits that keep one client from hurting the others (rate
 * limits, malformed-frame budget, slow-consumer cut-off, heartbeats).
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { CommandName, Commands, ErrorCode, ServerFrame, ServerInfo, WelcomeSession } from '@perch/protocol';
import { CLOSE, COMMAND_ARGS, isRecord, MAX_TEXT_LENGTH, parseFrame, PROTOCOL_VERSION, validateClientFrame } from '@perch/protocol';
import type { Authenticator } from './auth.js';
import type { CommandTable } from './commands.js';
import type { Fanout } from './fanout.js';
import { frameText } from './frame-text.js';
import type { ResolvedOptions } from './options.js';
import { TokenBucket, type KeyedBuckets } from './rate-limit.js';
import { RequestError } from './request-error.js';
import type { Caller } from './services/context.js';
import type { SocialService } from './services/social.js';

/** Malformed frames a connection may send before it is closed with 1002. */
export const MAX_PROTOCOL_ERRORS = 10;
/** Requests that may wait behind the one running before more are refused as `rate_limited`. */
const MAX_QUEUED = 512;
/** The window over which throttled requests are counted against `floodLimit`. */
const FLOOD_WINDOW_MS = 10_000;
/** How long a socket that was asked to close may take before it is destroyed. */
const CLOSE_GRACE_MS = 1000;
/**
 * Commands that may start while earlier ones of the same class are still running. Sends: their
 * effects are ordered by the storage (it executes calls in the order they are made, and a send
 * reaches it in the order sends start), so waiting for each to be durable before starting the next
 * would only cap a connection at one message per group commit. Reads: they change nothing. A
 * command of another class (or none) waits until everything before it has been answered, so that
 * e.g. a history request sees the messages sent before it.
 */
const PIPELINE_CLASS: Partial<Record<CommandName, 'send' | 'read'>> = {
  sendMessage: 'send',
  conversations: 'read',
  history: 'read',
  roster: 'read',
  directory: 'read',
  profile: 'read',
  feed: 'read',
};

/** Sessions whose socket is corked until the current burst of frames is over. */
const corked: Session[] = [];

function uncorkAll(): void {
  for (const session of corked) session.uncork();
  corked.length = 0;
}

/** A request (or the hello) received and not yet answered. */
interface Work {
  run: () => Promise<ServerFrame | undefined>;
  /** May start while the earlier unanswered ones are all of this class too. */
  pipeline: 'send' | 'read' | undefined;
  started: boolean;
  done: boolean;
  answer: ServerFrame | undefined;
}

/** What a session needs from its server. */
export interface SessionHost {
  readonly options: ResolvedOptions;
  readonly authenticator: Authenticator;
  readonly commands: CommandTable;
  readonly social: SocialService;
  readonly fanout: Fanout;
  readonly identityBuckets: KeyedBuckets;
  readonly serverInfo: ServerInfo;
  /** True once a graceful shutdown began: new requests are refused with `unavailable`. */
  isShuttingDown(): boolean;
  /**
   * Called when a user of the site signed in on `socket` (the TCP socket): it no longer counts
   * among its address's anonymous connections. Visitors stay counted.
   */
  signedIn(socket: Duplex): void;
  /**
   * Counts `session` among `userId`'s open connections (until it is forgotten); false, counting
   * nothing, when that user already holds `maxConnectionsPerUser`.
   */
  admit(session: Session, userId: string): boolean;
  /** Registers background work (presence updates after a close) that shutdown must wait for. */
  track(work: Promise<unknown>): void;
  /** Called once when the socket has closed. */
  forget(session: Session): void;
}

type Phase = 'hello' | 'authenticating' | 'open' | 'closed';
type Handler = (caller: Caller, args: unknown) => Promise<unknown>;

const textOf = (data: RawData): string =>
  Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');

/**
 * An unexpected failure as it is logged: with its stack, to find the bug, unless the database
 * refused (disk full, read-only file, I/O error): that is one line per request, and its stack (the
 * storage thread's message handler) would say nothing.
 */
const failure = (error: unknown): string =>
  error instanceof Error ? ((error.name !== 'SqliteError' && error.stack) || `${error.name}: ${error.message}`) : String(error);

/** One connection's protocol state. */
export class Session {
  /** Unique id of this connection (for fan-out exclusions). */
  readonly connectionId = randomUUID();
  private readonly ws: WebSocket;
  /** The TCP socket under `ws`, corked while a burst of frames is written. */
  private readonly socket: Duplex;
  private corked = false;
  private readonly host: SessionHost;
  private readonly remoteAddress: string;
  private readonly bucket: TokenBucket;
  private phase: Phase = 'hello';
  private caller: Caller | undefined;
  private helloTimer: ReturnType<typeof setTimeout> | undefined;
  /** When this connection ends: its token's expiry plus the clock tolerance; never for visitors. */
  private endsAt = Infinity;
  private alive = true;
  private cut = false;
  private unsubscribe: (() => void) | undefined;
  private protocolErrors = 0;
  private floodWindowStart = 0;
  private throttled = 0;
  /** Set by {@link closeWhenAnswered} and {@link kick}: further frames are ignored. */
  private closing = false;
  /** Set by {@link kick}: requests already queued are not run either. */
  private kicked = false;
  /** Received and not yet answered, in arrival order; answers leave in this order. */
  private readonly queue: Work[] = [];
  private drained: (() => void) | undefined;
  private drainedPromise: Promise<void> | undefined;

  /** Takes over a freshly upgraded socket (`socket` is the TCP socket under it) and starts the hello timer. */
  constructor(ws: WebSocket, socket: Duplex, remoteAddress: string, host: SessionHost) {
    this.ws = ws;
    this.socket = socket;
    this.host = host;
    this.remoteAddress = remoteAddress;
    this.bucket = new TokenBucket(host.options.connectionRate);
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('pong', () => (this.alive = true));
    ws.on('close', () => this.closed());
    // ws reports protocol violations (a frame over maxPayload → 1009, bad UTF-8 → 1007) and closes
    // the socket itself; the listener only keeps the error from becoming an uncaught exception.
    ws.on('error', () => undefined);
    const ms = host.options.helloTimeoutMs;
    this.helloTimer = setTimeout(() => {
      this.send({ type: 'error', code: 'timeout', message: `No hello arrived within ${ms} ms; send hello right after connecting.` });
      this.close(CLOSE.helloTimeout, 'No hello in time.');
    }, ms);
  }

  /** The signed-in user's id, once the handshake is done. */
  get userId(): string | undefined {
    return this.caller?.user.id;
  }

  /** The visitor signed in on this connection, if it is one (the visitor purge must spare it). */
  get visitorId(): string | undefined {
    return this.caller?.user.visitor === true && this.phase !== 'closed' ? this.caller.user.id : undefined;
  }

  /**
   * Called by the server's heartbeat timer: drops a socket that did not answer the last ping, and
   * closes one whose token has expired without a `reauth` (so within a heartbeat of the expiry).
   */
  heartbeat(): void {
    if (this.phase === 'open' && Date.now() >= this.endsAt) {
      this.kick(CLOSE.expired, 'The token has expired; sign in again with a fresh one.');
      return;
    }
    if (!this.alive) {
      this.ws.terminate();
      return;
    }
    this.alive = false;
    try {
      this.ws.ping();
    } catch {
      // Not open (any more); the close handler cleans up.
    }
  }

  /** Resolves when every request received so far has been answered. */
  drain(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return (this.drainedPromise ??= new Promise<void>((resolve) => (this.drained = resolve)));
  }

  /** Closes the socket with 1001 for a graceful shutdown. */
  goAway(): void {
    this.close(CLOSE.goingAway, 'The server is shutting down; reconnect in a moment.');
  }

  /**
   * Closes the connection with `code` (e.g. 4001 when a visitor's tokens were revoked). Nothing it
   * sent is served any more, not even while the closing handshake takes its time.
   */
  kick(code: number, reason: string): void {
    this.kicked = this.closing = true;
    this.close(code, reason);
  }

  /** Hands a serialised frame to the socket, or cuts the reader off when its buffer is full. */
  deliver(text: string): void {
    if (this.phase === 'closed' || this.cut) return;
    // Slow means more than the cap still waits for the reader when another frame comes. The frame
    // in hand is not counted: one answer larger than the cap (a history page of long messages, a
    // big directory) says nothing about the reader, and what is held stays under cap + one frame.
    if (this.ws.bufferedAmount > this.host.options.maxBufferedBytes) {
      this.cutOff();
      return;
    }
    // Frames produced in one burst (an answer and the events it caused, a group commit's echoes)
    // leave in one write instead of one system call each.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      if (corked.push(this) === 1) process.nextTick(uncorkAll);
    }
    this.ws.send(text);
  }

  /** Ends the burst started by the first {@link deliver} since the last one. */
  uncork(): void {
    this.corked = false;
    this.socket.uncork();
  }

  private send(frame: ServerFrame): void {
    this.deliver(frameText(frame));
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.phase === 'closed' || this.cut || this.closing) return;
    if (isBinary) {
      const message = 'Frames must be JSON text, not binary.';
      return this.phase === 'hello' ? this.refuseHello(message, CLOSE.protocolError) : this.protocolError(undefined, message);
    }
    const parsed = parseFrame(textOf(data));
    if (!parsed.ok) {
      if (this.phase === 'hello') return this.refuseHello(parsed.error, CLOSE.protocolError);
      return this.protocolError(undefined, parsed.error, parsed.error.startsWith('Frame is larger') ? 'too_large' : 'bad_request');
    }
    const frame = parsed.value;
    if (this.phase === 'hello') {
      const hello = validateClientFrame(frame);
      if (!hello.ok) return this.refuseHello(hello.error, frame.type === 'hello' ? CLOSE.protocolError : CLOSE.policy);
      if (hello.value.type !== 'hello') return this.refuseHello('The first frame must be hello, with credentials.', CLOSE.policy);
      const auth = hello.value.auth;
      this.phase = 'authenticating';
      this.enqueue(async () => {
        await this.authenticate(auth);
        return undefined;
      }, undefined);
      return;
    }
    const id = typeof frame.id === 'string' && frame.id.length > 0 && frame.id.length <= 64 ? frame.id : undefined;
    const wait = this.bucket.take() || (this.caller ? this.host.identityBuckets.take(this.caller.user.id) : 0);
    if (wait > 0) return this.throttle(id, wait);
    // The client's heartbeat (browsers cannot see WebSocket pings): answered at once, ahead of the
    // queued requests, since it asks whether the connection lives, not whether they are done. It
    // took its token above, so a flood of pings is throttled like any other.
    if (frame.type === 'ping') return this.send({ type: 'pong' });
    if (this.queue.length >= MAX_QUEUED) return this.throttle(id, 100);
    if (frame.type === 'hello') return this.protocolError(id, 'Already signed in; send hello only once per connection.');
    const valid = validateClientFrame(frame);
    if (!valid.ok) {
      const envelopeOk = frame.type === 'req' && id !== undefined && typeof frame.cmd === 'string' && Object.hasOwn(COMMAND_ARGS, frame.cmd);
      if (!envelopeOk) return this.protocolError(id, valid.error);
      // too_large only when the text's length is all that is wrong: the same request with a short
      // text passes. Any other mistake is a bad_request named by the message.
      const args = frame.args;
      const long =
        isRecord(args) &&
        typeof args.text === 'string' &&
        args.text.length > MAX_TEXT_LENGTH &&
        (COMMAND_ARGS[frame.cmd as CommandName] as (args: Record<string, unknown>) => { ok: boolean })({ ...args, text: 'x' }).ok;
      return this.send({ type: 'error', id, code: long ? 'too_large' : 'bad_request', message: valid.error });
    }
    const request = valid.value;
    if (request.type !== 'req') return;
    this.enqueue(() => this.run(request.id, request.cmd, request.args), PIPELINE_CLASS[request.cmd]);
  }

  /**
   * Queues `run`. It starts once every request before it has been answered — or, for a command of
   * a pipeline class, once every request before it still unanswered is of that class too. Answers
   * are sent in arrival order whatever order the work finishes in.
   */
  private enqueue(run: () => Promise<ServerFrame | undefined>, pipeline: Work['pipeline']): void {
    this.queue.push({ run, pipeline, started: false, done: false, answer: undefined });
    this.pump();
  }

  /** Starts what may start now. */
  private pump(): void {
    const queue = this.queue;
    const head = queue[0];
    if (head === undefined) return;
    for (let i = 0; i < queue.length; i++) {
      const work = queue[i] as Work;
      // Everything before `work` is of its class (checked as the loop went), or it is the head.
      if (i > 0 && (work.pipeline === undefined || work.pipeline !== head.pipeline)) return;
      if (!work.started) {
        work.started = true;
        work
          .run()
          .catch((error: unknown) => {
            this.host.options.log(`perch-server: ${failure(error)}`);
            return undefined;
          })
          .then((answer) => this.finished(work, answer));
      }
    }
  }

  private finished(work: Work, answer: ServerFrame | undefined): void {
    work.done = true;
    work.answer = answer;
    const queue = this.queue;
    let head = 0;
    while (head < queue.length && (queue[head] as Work).done) {
      const answered = (queue[head++] as Work).answer;
      if (answered !== undefined) this.send(answered);
    }
    if (head === 0) return;
    queue.splice(0, head);
    if (queue.length > 0) return this.pump();
    this.drained?.();
    this.drained = this.drainedPromise = undefined;
  }

  private async authenticate(auth: Parameters<Authenticator['authenticate']>[0]): Promise<void> {
    let session;
    try {
      session = await this.host.authenticator.authenticate(auth, this.remoteAddress);
    } catch (error) {
      const known = error instanceof RequestError;
      if (!known) this.host.options.log(`perch-server: sign-in failed: ${failure(error)}`);
      const code: ErrorCode = known ? error.code : 'internal';
      const message = known ? error.message : 'The server could not check the credentials; try again shortly.';
      this.send({ type: 'error', code, message, ...(known && error.retryAfter !== undefined ? { retryAfter: error.retryAfter } : {}) });
      this.close(code === 'unauthorized' ? CLOSE.unauthorized : code === 'rate_limited' ? CLOSE.rateLimited : 1011, 'Sign-in refused.');
      return;
    }
    if (this.phase !== 'authenticating') return; // The socket closed meanwhile.
    if (!this.host.admit(this, session.user.id)) {
      const max = this.host.options.maxConnectionsPerUser;
      const message = `This user already has ${max} connections open, the most one user may have; close one (another browser or device) and try again.`;
      this.send({ type: 'error', code: 'rate_limited', message, retryAfter: 30_000 });
      this.close(CLOSE.rateLimited, 'Too many connections for this user.');
      return;
    }
    clearTimeout(this.helloTimer);
    this.phase = 'open';
    const user = session.user;
    this.caller = { user, connectionId: this.connectionId };
    this.host.identityBuckets.retain(user.id);
    if (session.visitorToken === undefined) this.host.signedIn(this.socket);
    const welcome: WelcomeSession = session.visitorToken === undefined ? { user } : { user, visitorToken: session.visitorToken };
    if (session.expiresAt !== undefined) {
      this.endsAt = session.endsAt as number;
      welcome.expiresIn = Math.max(0, session.expiresAt - Date.now());
    }
    this.send({ type: 'welcome', v: PROTOCOL_VERSION, session: welcome, server: this.host.serverInfo });
    // Subscribing in the same tick as the welcome: no event can be missed or arrive before it.
    this.unsubscribe = this.host.fanout.subscribe(user.id, { connectionId: this.connectionId, deliver: (text) => this.deliver(text) });
    await this.host.social.connected(user.id);
    // A visit ended while this sign-in was in flight found no connection of that visitor to close.
    // The connection has its user now, so a later revocation finds it; this looks for an earlier one.
    if (!(await this.host.authenticator.isCurrent(session))) this.kick(CLOSE.unauthorized, 'The visit was ended.');
  }

  /** Runs one request; resolves to its answer (sent by the queue, in arrival order). */
  private async run(id: string, cmd: CommandName, args: unknown): Promise<ServerFrame | undefined> {
    const caller = this.caller;
    if (this.phase !== 'open' || caller === undefined || this.kicked) return undefined;
    if (this.host.isShuttingDown()) {
      return { type: 'error', id, code: 'unavailable', message: 'The server is shutting down; retry after reconnecting.', retryAfter: 1000 };
    }
    try {
      const result = cmd === 'reauth' ? await this.reauth(caller, args as Commands['reauth']['args']) : await (this.host.commands[cmd] as Handler)(caller, args);
      return { type: 'res', id, result: result ?? null };
    } catch (error) {
      if (error instanceof RequestError) {
        const retry = error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter };
        return { type: 'error', id, code: error.code, message: error.message, ...retry };
      }
      this.host.options.log(`perch-server: ${cmd} failed: ${failure(error)}`);
      return { type: 'error', id, code: 'internal', message: `The server failed to handle ${cmd}; try again.` };
    }
  }

  /** `reauth`: a fresh token for the same user moves the expiry on (and refreshes the profile, as a sign-in does). */
  private async reauth(caller: Caller, { token }: Commands['reauth']['args']): Promise<Commands['reauth']['result']> {
    if (caller.user.visitor === true) throw new RequestError('bad_request', 'A visitor has no token to renew: a visit does not expire.');
    const renewed = await this.host.authenticator.renew(token, caller.user.id);
    if (this.caller === caller) this.caller = { ...caller, user: renewed.user };
    this.endsAt = renewed.endsAt as number;
    return { expiresIn: Math.max(0, (renewed.expiresAt as number) - Date.now()) };
  }

  private refuseHello(message: string, code: number): void {
    this.send({ type: 'error', code: 'bad_request', message });
    this.close(code, 'Expected hello.');
  }

  private protocolError(id: string | undefined, message: string, code: ErrorCode = 'bad_request'): void {
    this.send(id === undefined ? { type: 'error', code, message } : { type: 'error', id, code, message });
    if (++this.protocolErrors >= MAX_PROTOCOL_ERRORS) this.close(CLOSE.protocolError, 'Too many malformed frames.');
  }

  private throttle(id: string | undefined, wait: number): void {
    const message = `Too many requests; wait ${wait} ms before sending more.`;
    this.send(id === undefined ? { type: 'error', code: 'rate_limited', message, retryAfter: wait } : { type: 'error', id, code: 'rate_limited', message, retryAfter: wait });
    const now = performance.now();
    if (now - this.floodWindowStart > FLOOD_WINDOW_MS) {
      this.floodWindowStart = now;
      this.throttled = 0;
    }
    if (++this.throttled > this.host.options.floodLimit) this.closeWhenAnswered(CLOSE.rateLimited, 'Kept flooding after being throttled.');
  }

  /**
   * Reads nothing more, and closes once every request accepted so far has been answered (or after
   * CLOSE_GRACE_MS): a flooder still gets the answers to the requests it was granted.
   */
  private closeWhenAnswered(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    const timer = setTimeout(() => this.close(code, reason), CLOSE_GRACE_MS);
    void this.drain().then(() => {
      clearTimeout(timer);
      this.close(code, reason);
    });
  }

  /** Stops sending to a reader whose buffer is full, asks it to close (4003), and destroys it soon after. */
  private cutOff(): void {
    this.cut = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.close(CLOSE.slowConsumer, 'Slow consumer: read too slowly.');
  }

  private close(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.terminate();
    }
    // A peer that does not answer the close (a stalled reader) is not waited for.
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  private closed(): void {
    if (this.phase === 'closed') return;
    const wasOpen = this.phase === 'open';
    this.phase = 'closed';
    clearTimeout(this.helloTimer);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const userId = this.caller?.user.id;
    if (wasOpen && userId !== undefined) {
      this.host.identityBuckets.release(userId);
      if (this.caller!.user.visitor === true) {
        this.host.track(
          this.host.authenticator.visitorLeft(userId).catch((error: unknown) => {
            this.host.options.log(`perch-server: the last use of visitor ${userId} was not recorded at its close: ${String(error)}`);
          }),
        );
      }
      this.host.track(
        this.host.social.disconnected(userId).catch((error: unknown) => {
          this.host.options.log(`perch-server: presence update after a close failed: ${String(error)}`);
        }),
      );
    }
    this.host.forget(this);
  }
}
