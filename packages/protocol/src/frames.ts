/**
 * The Perch wire protocol, version 1: JSON text frames over one WebSocket.
 *
 * 1. The client's first frame is `hello` (credentials travel here, never in the URL). The server
 *    answers `welcome` or an `error` frame followed by a close.
 * 2. Each command is a `req` frame with a client-chosen `id`; the server answers with a `res`
 *    frame carrying the same `id`, or an `error` frame with that `id` and a stable code.
 * 3. The server pushes `event` frames for changes the user may see.
 * 4. After `hello`, the client may send `ping` at any time; the server answers `pong` at once. This
 *    is the heartbeat browsers need, since they cannot see WebSocket pings.
 *
 * Commands mirror the methods of the core's `BackendConnection` one to one.
 */
import { checkCharacters } from './characters.js';
import type { ErrorCode } from './errors.js';
import type { Contact, Conversation, FeedSource, Id, Message, Post, Presence, PresenceShow, User } from './model.js';
import {
  describeValue,
  isCount,
  isId,
  isRecord,
  MAX_ID_LENGTH,
  validatePresence,
  validateText,
  type Validated,
} from './validate.js';

/** The protocol version this package speaks. */
export const PROTOCOL_VERSION = 1;
/** Largest frame either side accepts, in bytes. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** How long the server waits for `hello` before closing, in ms. */
export const HELLO_TIMEOUT_MS = 10_000;
/** Deepest JSON nesting a frame may have. */
export const MAX_DEPTH = 8;

/** WebSocket close codes the server uses. */
export const CLOSE = {
  /** The server is shutting down or restarting; reconnect later. */
  goingAway: 1001,
  /** Ten malformed frames (not JSON, not a Perch frame), or a first frame that is no well-formed `hello`. */
  protocolError: 1002,
  /** A rule of the protocol broken: a frame other than `hello` came first. (A refused Origin gets HTTP 403.) */
  policy: 1008,
  /** A frame over {@link MAX_FRAME_BYTES}. */
  tooLarge: 1009,
  /** The credentials in `hello` were refused. */
  unauthorized: 4001,
  /** No `hello` within {@link HELLO_TIMEOUT_MS}. */
  helloTimeout: 4002,
  /** The client read too slowly and the server's buffer for it filled up. */
  slowConsumer: 4003,
  /** The token the connection signed in with expired and was not renewed (`reauth`); sign in again with a fresh one. */
  expired: 4004,
  /** Too many requests after repeated throttling. */
  rateLimited: 4029,
} as const;

/** Credentials in `hello`. */
export type HelloAuth = { token: string } | { visitor: { name?: string; email?: string; token?: string } };

/** The arguments and result of every command. */
export interface Commands {
  sendMessage: { args: { conversationId: Id; clientId: string; text: string; createdAt: number }; result: Message };
  editMessage: { args: { conversationId: Id; id: Id; text: string }; result: Message };
  deleteMessage: { args: { conversationId: Id; id: Id }; result: Message };
  conversations: { args: Record<string, never>; result: Conversation[] };
  history: {
    args: { conversationId: Id; after?: number; before?: number; limit: number };
    result: { messages: Message[]; complete: boolean };
  };
  openDirect: { args: { userId: Id }; result: Conversation };
  /** `clientId` (optional for old clients) makes it idempotent: a retry answers the original group. */
  createGroup: { args: { title: string; members: Id[]; clientId?: string }; result: Conversation };
  markRead: { args: { conversationId: Id; seq: number }; result: null };
  markDelivered: { args: { conversationId: Id; seq: number }; result: null };
  setTyping: { args: { conversationId: Id; on: boolean }; result: null };
  roster: { args: Record<string, never>; result: { contacts: Contact[]; presence: Presence[] } };
  addContact: { args: { userId: Id; groups: string[] }; result: Contact };
  removeContact: { args: { userId: Id }; result: null };
  directory: { args: Record<string, never>; result: User[] };
  profile: { args: { userId: Id }; result: User };
  setPresence: { args: { show: Exclude<PresenceShow, 'offline'>; status?: string }; result: null };
  post: { args: { clientId: string; text: string; createdAt: number; replyTo?: Id }; result: Post };
  feed: { args: { source: FeedSource; before?: Id; limit: number }; result: { posts: Post[]; complete: boolean } };
  like: { args: { postId: Id; on: boolean }; result: Post };
  follow: { args: { userId: Id; on: boolean }; result: null };
  /** Renews the credentials of an open connection: a fresh token for the same user. */
  reauth: { args: { token: string }; result: { expiresIn: number } };
}

/** A command name. */
export type CommandName = keyof Commands;

/** The events a server pushes. */
export interface Events {
  message: Message;
  conversation: Conversation;
  post: Post;
  presence: Presence;
  typing: { conversationId: Id; userId: Id; on: boolean };
  receipt: { conversationId: Id; userId: Id; kind: 'delivered' | 'read'; seq: number };
  contact: { contact: Contact; removed?: boolean };
}

/** An event name. */
export type EventName = keyof Events;

/** What the server says about itself in `welcome`. */
export interface ServerInfo {
  name: string;
  version: string;
  /** Which optional features it has (same keys as the core's backend capabilities). */
  capabilities: Record<string, boolean>;
  limits: { maxFrameBytes: number; maxTextLength: number };
}

/** Who signed in, as `welcome` says. */
export interface WelcomeSession {
  user: User;
  /** For visitors: the opaque token to present next time. */
  visitorToken?: string;
  /**
   * For a token sign-in: milliseconds until the token expires. The server closes the connection
   * (4004) once it has, unless `reauth` brought a fresh token first.
   */
  expiresIn?: number;
}

/** Frames a client sends. */
export type ClientFrame =
  | { type: 'hello'; v: number; auth: HelloAuth }
  | { type: 'ping' }
  | { [N in CommandName]: { type: 'req'; id: string; cmd: N; args: Commands[N]['args'] } }[CommandName];

/** Frames a server sends. */
export type ServerFrame =
  | { type: 'welcome'; v: number; session: WelcomeSession; server: ServerInfo }
  | { type: 'res'; id: string; result: unknown }
  | { type: 'pong' }
  | { type: 'error'; id?: string; code: ErrorCode; message: string; retryAfter?: number }
  | { [E in EventName]: { type: 'event'; event: E; data: Events[E] } }[EventName];

const ok = <T>(value: T): Validated<T> => ({ ok: true, value });
const fail = <T>(error: string): Validated<T> => ({ ok: false, error });

/** The nesting depth of a parsed JSON value (1 for a scalar). */
function depth(value: unknown, limit: number): number {
  if (typeof value !== 'object' || value === null) return 1;
  if (limit <= 0) return Infinity;
  let deepest = 0;
  for (const child of Object.values(value)) deepest = Math.max(deepest, depth(child, limit - 1));
  return deepest + 1;
}

/**
 * Parses a raw frame without trusting it: size, JSON, depth. The caller validates the shape with
 * {@link validateClientFrame} or {@link validateServerFrame}.
 */
export function parseFrame(raw: string): Validated<Record<string, unknown>> {
  // UTF-16 length ≤ UTF-8 bytes ≤ 3 × UTF-16 length: only count bytes when it can matter.
  const tooLarge = raw.length > MAX_FRAME_BYTES || (raw.length * 3 > MAX_FRAME_BYTES && new TextEncoder().encode(raw).length > MAX_FRAME_BYTES);
  if (tooLarge) return fail(`Frame is larger than ${MAX_FRAME_BYTES} bytes.`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return fail('Frame is not valid JSON.');
  }
  if (!isRecord(value)) return fail('A frame must be a JSON object.');
  if (depth(value, MAX_DEPTH) > MAX_DEPTH) return fail(`Frame is nested deeper than ${MAX_DEPTH} levels.`);
  return ok(value);
}

type ArgsValidator<N extends CommandName> = (args: Record<string, unknown>) => Validated<Commands[N]['args']>;

const id = (args: Record<string, unknown>, key: string): string | undefined => (isId(args[key]) ? (args[key] as string) : undefined);
const need = (name: string) => fail<never>(`"${name}" must be an id of 1–${MAX_ID_LENGTH} letters, digits or _ . : @ -.`);
/**
 * Message or post text as a server checks it: {@link validateText}, and no C1 control or unpaired
 * surrogate either (the core checks with `validateText` alone; see characters.ts).
 */
export function checkText(value: unknown, what: string): Validated<string> {
  const valid = validateText(value, what);
  return valid.ok ? checkCharacters(valid.value, what, true) : valid;
}
const seqArg = (args: Record<string, unknown>) => (isCount(args.seq) ? ok(args.seq) : fail<number>('"seq" must be a non-negative integer.'));

function conversationAnd<T>(args: Record<string, unknown>, rest: (conversationId: string) => Validated<T>): Validated<T> {
  const conversationId = id(args, 'conversationId');
  return conversationId ? rest(conversationId) : need('conversationId');
}

function limitArg(value: unknown, max: number): Validated<number> {
  return isCount(value) && value >= 1 && value <= max ? ok(value) : fail(`"limit" must be an integer from 1 to ${max}.`);
}

const onArg = (value: unknown): Validated<boolean> => (typeof value === 'boolean' ? ok(value) : fail('"on" must be true or false.'));

/** Validators of each command's arguments. Unknown fields are dropped. */
export const COMMAND_ARGS: { [N in CommandName]: ArgsValidator<N> } = {
  sendMessage: (a) =>
    conversationAnd(a, (conversationId) => {
      const clientId = id(a, 'clientId');
      if (!clientId) return need('clientId');
      const t = checkText(a.text, 'Message');
      if (!t.ok) return t;
      if (!isCount(a.createdAt)) return fail('"createdAt" must be a timestamp in milliseconds.');
      return ok({ conversationId, clientId, text: t.value, createdAt: a.createdAt });
    }),
  editMessage: (a) =>
    conversationAnd(a, (conversationId) => {
      const messageId = id(a, 'id');
      if (!messageId) return need('id');
      const t = checkText(a.text, 'Message');
      return t.ok ? ok({ conversationId, id: messageId, text: t.value }) : t;
    }),
  deleteMessage: (a) =>
    conversationAnd(a, (conversationId) => {
      const messageId = id(a, 'id');
      return messageId ? ok({ conversationId, id: messageId }) : need('id');
    }),
  conversations: () => ok({}),
  history: (a) =>
    conversationAnd(a, (conversationId) => {
      const limit = limitArg(a.limit, 200);
      if (!limit.ok) return limit;
      const out: Commands['history']['args'] = { conversationId, limit: limit.value };
      for (const key of ['after', 'before'] as const) {
        if (a[key] === undefined) continue;
        if (!isCount(a[key])) return fail(`"${key}" must be a non-negative integer seq.`);
        out[key] = a[key];
      }
      if (out.after !== undefined && out.before !== undefined) return fail('Give "after" or "before", not both.');
      return ok(out);
    }),
  openDirect: (a) => {
    const userId = id(a, 'userId');
    return userId ? ok({ userId }) : need('userId');
  },
  createGroup: (a) => {
    // Checked as it will be stored: trimmed, so a line break typed after the title does no harm.
    const trimmed = typeof a.title === 'string' ? a.title.trim() : '';
    if (trimmed.length === 0 || trimmed.length > 100) return fail('"title" must be 1–100 characters.');
    const title = checkCharacters(trimmed, '"title"');
    if (!title.ok) return title;
    if (!Array.isArray(a.members) || a.members.length > 100 || !a.members.every(isId)) {
      return fail('"members" must be a list of at most 100 user ids.');
    }
    const out: Commands['createGroup']['args'] = { title: trimmed, members: [...new Set(a.members as string[])] };
    if (a.clientId !== undefined) {
      const clientId = id(a, 'clientId');
      if (!clientId) return need('clientId');
      out.clientId = clientId;
    }
    return ok(out);
  },
  markRead: (a) => conversationAnd(a, (conversationId) => {
    const seq = seqArg(a);
    return seq.ok ? ok({ conversationId, seq: seq.value }) : seq;
  }),
  markDelivered: (a) => conversationAnd(a, (conversationId) => {
    const seq = seqArg(a);
    return seq.ok ? ok({ conversationId, seq: seq.value }) : seq;
  }),
  setTyping: (a) =>
    conversationAnd(a, (conversationId) => {
      const on = onArg(a.on);
      return on.ok ? ok({ conversationId, on: on.value }) : on;
    }),
  roster: () => ok({}),
  addContact: (a) => {
    const userId = id(a, 'userId');
    if (!userId) return need('userId');
    const groups = a.groups ?? [];
    if (!Array.isArray(groups) || groups.length > 20 || !groups.every((g) => typeof g === 'string' && g.length > 0 && g.length <= 64)) {
      return fail('"groups" must be a list of at most 20 names of 1–64 characters.');
    }
    for (const [i, group] of (groups as string[]).entries()) {
      const name = checkCharacters(group, `"groups[${i}]"`);
      if (!name.ok) return name;
    }
    return ok({ userId, groups: groups as string[] });
  },
  removeContact: (a) => {
    const userId = id(a, 'userId');
    return userId ? ok({ userId }) : need('userId');
  },
  directory: () => ok({}),
  profile: (a) => {
    const userId = id(a, 'userId');
    return userId ? ok({ userId }) : need('userId');
  },
  setPresence: (a) => validatePresence(a),
  post: (a) => {
    const clientId = id(a, 'clientId');
    if (!clientId) return need('clientId');
    const t = checkText(a.text, 'Post');
    if (!t.ok) return t;
    if (!isCount(a.createdAt)) return fail('"createdAt" must be a timestamp in milliseconds.');
    const out: Commands['post']['args'] = { clientId, text: t.value, createdAt: a.createdAt };
    if (a.replyTo !== undefined) {
      const replyTo = id(a, 'replyTo');
      if (!replyTo) return need('replyTo');
      out.replyTo = replyTo;
    }
    return ok(out);
  },
  feed: (a) => {
    const source = validateFeedSource(a.source);
    if (!source.ok) return source;
    const limit = limitArg(a.limit, 100);
    if (!limit.ok) return limit;
    const out: Commands['feed']['args'] = { source: source.value, limit: limit.value };
    if (a.before !== undefined) {
      const before = id(a, 'before');
      if (!before) return need('before');
      out.before = before;
    }
    return ok(out);
  },
  like: (a) => {
    const postId = id(a, 'postId');
    if (!postId) return need('postId');
    const on = onArg(a.on);
    return on.ok ? ok({ postId, on: on.value }) : on;
  },
  follow: (a) => {
    const userId = id(a, 'userId');
    if (!userId) return need('userId');
    const on = onArg(a.on);
    return on.ok ? ok({ userId, on: on.value }) : on;
  },
  reauth: (a) => {
    const token = validateToken(a.token, 'token');
    return token.ok ? ok({ token: token.value }) : token;
  },
};

function validateFeedSource(value: unknown): Validated<FeedSource> {
  if (!isRecord(value)) return fail('"source" must be { kind: "home" | "user" | "mentions" }.');
  if (value.kind === 'home' || value.kind === 'mentions') return ok({ kind: value.kind });
  if (value.kind === 'user') return isId(value.userId) ? ok({ kind: 'user', userId: value.userId }) : need('source.userId');
  return fail('"source.kind" must be "home", "user" or "mentions".');
}

function validateToken(value: unknown, name: string): Validated<string> {
  return typeof value === 'string' && value.length > 0 && value.length <= 4096 ? ok(value) : fail(`"${name}" must be a token of 1–4096 characters.`);
}

function validateAuth(value: unknown): Validated<HelloAuth> {
  if (!isRecord(value)) return fail('"auth" must be { token } or { visitor: { name?, email?, token? } }.');
  if (typeof value.token === 'string') {
    const token = validateToken(value.token, 'auth.token');
    return token.ok ? ok({ token: token.value }) : token;
  }
  if (!isRecord(value.visitor)) return fail('"auth" must be { token } or { visitor: { name?, email?, token? } }.');
  const visitor: { name?: string; email?: string; token?: string } = {};
  for (const key of ['name', 'email', 'token'] as const) {
    const field = value.visitor[key];
    if (field === undefined) continue;
    if (typeof field !== 'string' || field.length > 256) return fail(`"auth.visitor.${key}" must be a string of at most 256 characters.`);
    visitor[key] = field;
  }
  return ok({ visitor });
}

/** Validates a parsed frame from a client; the error says what is wrong (and goes back in an `error` frame). */
export function validateClientFrame(frame: Record<string, unknown>): Validated<ClientFrame> {
  if (frame.type === 'hello') {
    if (frame.v === undefined) return fail(`A hello needs "v", the protocol version; this server speaks ${PROTOCOL_VERSION}.`);
    if (frame.v !== PROTOCOL_VERSION) return fail(`Unsupported protocol version ${describeValue(frame.v)}; this server speaks ${PROTOCOL_VERSION}.`);
    const auth = validateAuth(frame.auth);
    return auth.ok ? ok({ type: 'hello', v: PROTOCOL_VERSION, auth: auth.value }) : auth;
  }
  if (frame.type === 'ping') return ok({ type: 'ping' });
  if (frame.type === undefined) return fail('A frame needs a "type": "hello", "req" or "ping".');
  if (frame.type !== 'req') return fail(`Unknown frame type ${describeValue(frame.type)}; expected "hello", "req" or "ping".`);
  if (typeof frame.id !== 'string' || frame.id.length === 0 || frame.id.length > 64) return fail('A request needs an "id" of 1–64 characters.');
  const cmd = frame.cmd;
  if (cmd === undefined) return fail('A request needs a "cmd", the name of a command.');
  if (typeof cmd !== 'string') return fail(`"cmd" must be the name of a command; got ${describeValue(cmd)}.`);
  if (!Object.hasOwn(COMMAND_ARGS, cmd)) return fail(`Unknown command ${describeValue(cmd)}.`);
  const args = frame.args ?? {};
  if (!isRecord(args)) return fail('"args" must be an object.');
  const valid = (COMMAND_ARGS[cmd as CommandName] as ArgsValidator<CommandName>)(args);
  return valid.ok ? ok({ type: 'req', id: frame.id, cmd, args: valid.value } as ClientFrame) : valid;
}

const EVENT_NAMES: readonly EventName[] = ['message', 'conversation', 'post', 'presence', 'typing', 'receipt', 'contact'];

/**
 * Checks the envelope of a frame from a server (the client trusts its server's payloads once the
 * envelope is right, but never crashes on a malformed one).
 */
export function validateServerFrame(frame: Record<string, unknown>): Validated<ServerFrame> {
  switch (frame.type) {
    case 'welcome':
      return isRecord(frame.session) && isRecord(frame.session.user) && isRecord(frame.server)
        ? ok(frame as unknown as ServerFrame)
        : fail('A welcome frame needs session.user and server.');
    case 'pong':
      return ok(frame as unknown as ServerFrame);
    case 'res':
      return typeof frame.id === 'string' ? ok(frame as unknown as ServerFrame) : fail('A res frame needs an id.');
    case 'error':
      return typeof frame.code === 'string' && typeof frame.message === 'string'
        ? ok(frame as unknown as ServerFrame)
        : fail('An error frame needs a code and a message.');
    case 'event':
      return EVENT_NAMES.includes(frame.event as EventName) && isRecord(frame.data)
        ? ok(frame as unknown as ServerFrame)
        : fail(`Unknown event ${JSON.stringify(frame.event)}.`);
    default:
      return fail(`Unknown frame type ${JSON.stringify(frame.type)}.`);
  }
}
