/**
 * Seeded fuzzing of every command against a real `perch-server` process. Rule under test: bad input
 * gets a clear error (to the protocol peer) and never crashes the server or loses stored data.
 *
 * Frames are valid requests of each command in `COMMAND_ARGS`, mutated (fields missing, extra or
 * repeated, wrong types, boundary numbers, strings at and past each limit, Unicode edge cases,
 * other users' ids, `__proto__` keys, deep nesting, duplicate request ids, broken envelopes), sent
 * by a user and a visitor while two other users chat. Every frame must get exactly the answer
 * protocol.md promises — never `internal` — the server must print nothing on stderr, and what was
 * stored before must come back unchanged, also after a restart.
 *
 * `FUZZ_SEED` (a number, or `random`) and `FUZZ_COUNT` (frames, default 3000) change the run; a
 * failure names the seed and the frame.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  CLOSE,
  COMMAND_ARGS,
  ERROR_CODES,
  MAX_DEPTH,
  MAX_FRAME_BYTES,
  MAX_ID_LENGTH,
  MAX_STATUS_LENGTH,
  MAX_TEXT_LENGTH,
  parseFrame,
  validateClientFrame,
  type CommandName,
  type Commands,
  type Conversation,
  type Message,
  type Post,
} from '@perch/protocol';
import { SignJWT } from 'jose';
import { mintToken } from './auth.js';
import { MAX_PROTOCOL_ERRORS } from './session.js';
import { SECRET, spawnServer, TestClient, token, type ChildServer, type Frame } from './harness.test.util.js';

const SEED = process.env.FUZZ_SEED === 'random' ? (Math.random() * 2 ** 32) >>> 0 : Number(process.env.FUZZ_SEED ?? 0x5eed) >>> 0;
const COUNT = Number(process.env.FUZZ_COUNT ?? 3000);
const COMMANDS = Object.keys(COMMAND_ARGS) as CommandName[];
/** What a visitor may do (protocol.md, Commands); everything else is refused. */
const VISITOR_COMMANDS = new Set<string>(['conversations', 'history', 'sendMessage', 'editMessage', 'deleteMessage', 'markRead', 'markDelivered', 'setTyping', 'roster', 'profile', 'setPresence']);
const EVENTS = new Set(['message', 'conversation', 'post', 'presence', 'typing', 'receipt', 'contact']);

// ---- a seeded PRNG and JSON that JSON.stringify cannot write

/** mulberry32: a small, fast, seeded generator of numbers in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** JSON text spliced in as is: `-0`, `1e999`, `9223372036854775807`. */
class Raw {
  constructor(readonly text: string) {}
}
/** An object written from its entries, so that a key may repeat or be `__proto__`. */
class Entries {
  constructor(readonly entries: Array<[string, unknown]>) {}
}

function encode(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof Entries) return `{${value.entries.map(([key, v]) => `${JSON.stringify(key)}:${encode(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(encode).join(',')}]`;
  if (typeof value === 'object' && value !== null) return encode(new Entries(Object.entries(value)));
  return JSON.stringify(value) ?? 'null';
}

// ---- the world the frames are built from

/** Ids the fuzzer owns, and others' it may only try. */
interface World {
  self: string;
  visitorId: string;
  /** People who exist (the fuzzer's own id excluded). */
  users: string[];
  /** `editTarget` is never deleted (valid edits must succeed); `spare` may be. */
  own: { conversation: string; group: string; editTarget: string; deleted: string; spare: string; post: string };
  foreign: { conversations: string[]; messages: string[]; posts: string[]; clientIds: string[] };
  /** `reauth` tokens: the first is a valid one for `self`, the rest are wrong in some way. */
  tokens: string[];
}

/** A valid request of each command (the mapped type fails to compile when a command is missing). */
const BASE: { [N in CommandName]: (w: World, n: number) => Commands[N]['args'] } = {
  sendMessage: (w, n) => ({ conversationId: w.own.conversation, clientId: `fz-m-${n}`, text: `fuzz ${n}`, createdAt: 1_700_000_000_000 + n }),
  editMessage: (w, n) => ({ conversationId: w.own.conversation, id: w.own.editTarget, text: `edit ${n}` }),
  deleteMessage: (w) => ({ conversationId: w.own.conversation, id: w.own.deleted }),
  conversations: () => ({}),
  history: (w) => ({ conversationId: w.own.conversation, limit: 50 }),
  openDirect: () => ({ userId: 'carol' }),
  createGroup: () => ({ title: 'Fuzz group', members: ['carol'], clientId: 'fz-group' }),
  markRead: (w) => ({ conversationId: w.own.conversation, seq: 1 }),
  markDelivered: (w) => ({ conversationId: w.own.conversation, seq: 2 }),
  setTyping: (w) => ({ conversationId: w.own.conversation, on: true }),
  roster: () => ({}),
  addContact: () => ({ userId: 'carol', groups: ['Friends'] }),
  removeContact: () => ({ userId: 'carol' }),
  directory: () => ({}),
  profile: () => ({ userId: 'carol' }),
  setPresence: () => ({ show: 'away', status: 'Fuzzing' }),
  post: (w, n) => ({ clientId: `fz-p-${n}`, text: `post ${n}`, createdAt: 1_700_000_000_000 + n, replyTo: w.own.post }),
  feed: () => ({ source: { kind: 'user', userId: 'alice' }, limit: 10 }),
  like: (w) => ({ postId: w.foreign.posts[0] as string, on: true }),
  follow: () => ({ userId: 'carol', on: true }),
  reauth: (w) => ({ token: w.tokens[0] as string }),
};

// ---- mutations

const WRONG_TYPES: unknown[] = [0, 1, -1, '', 'x', true, false, null, [], {}, ['x'], { a: 1 }];
const NUMBERS: unknown[] = [
  new Raw('-0'), new Raw('-0.0'), new Raw('1.0'), new Raw('1E2'), new Raw('1e999'), new Raw('-1e999'), new Raw('1e-999'),
  new Raw('9223372036854775807'), new Raw('-9223372036854775808'), new Raw('18446744073709551616'),
  1e308, -1e308, 5e-324, 0.5, 1.5, -1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER,
  'NaN', 'Infinity', '-Infinity', '-0', '1', '1e308', '0x10', ' 1', '',
];
const UNICODE = [
  '\ud800', '\udfff', '\udbff', '\ud83d\ude00', '\u{10ffff}', '\u202e', '\u202d', '\u2066', '\u200f', '\u061c', '\u200d', '\u200b',
  '\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u009f', '\u2028', '\u2029', '\ufeff', '\ufffe', '\uffff', '\t', '\n', '\r\n',
  'e\u0301', '\u3000', '%s', '${x}', "'); DROP TABLE messages; --", '\\', '"', '</script>',
];
const EXTRA_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'after', 'before', 'replyTo', 'clientId', 'status', 'groups', 'text', 'id', 'seq', 'x'.repeat(300), '', '\ud800'];
/** Longest string per field; ids are MAX_ID_LENGTH. */
const LIMITS: Record<string, number> = { text: MAX_TEXT_LENGTH, title: 100, status: MAX_STATUS_LENGTH, token: 4096, groups: 64, show: 9 };
/** The optional arguments of the commands that have some (protocol.md, Commands). */
const OPTIONAL: Partial<Record<CommandName, string[]>> = { history: ['after', 'before'], createGroup: ['clientId'], addContact: ['groups'], setPresence: ['status'], post: ['replyTo'], feed: ['before'] };
const ID_KEYS = new Set(['conversationId', 'clientId', 'id', 'userId', 'postId', 'replyTo', 'before', 'members']);

/** Builds mutated values from one generator; `notes` says what was done to the frame. */
class Mutator {
  readonly notes: string[] = [];
  constructor(
    readonly random: () => number,
    readonly world: World,
    readonly n: number,
    readonly cmd: CommandName,
  ) {}

  int(below: number): number {
    return Math.floor(this.random() * below);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** Wraps `value` in `levels` arrays or objects (scalars count one level, as in MAX_DEPTH). */
  nest(value: unknown, levels: number): unknown {
    for (let i = 0; i < levels; i++) value = this.pick([[value], new Entries([['a', value]]), new Entries([['__proto__', value]])]);
    return value;
  }

  /** Anything at all. */
  chaos(): unknown {
    const family = this.int(5);
    if (family === 0) return this.pick(WRONG_TYPES);
    if (family === 1) return this.pick(NUMBERS);
    if (family === 2) return this.pick(UNICODE);
    if (family === 3) return this.pick(this.ids('userId'));
    return this.nest(this.pick(WRONG_TYPES), 1 + this.int(4));
  }

  ids(key: string): unknown[] {
    const { world: w, n } = this;
    const pool =
      key === 'conversationId' ? [...w.foreign.conversations, w.own.group]
      : key === 'id' ? [...w.foreign.messages, w.own.deleted, w.own.spare]
      : key === 'postId' || key === 'replyTo' || key === 'before' ? [...w.foreign.posts, w.own.post, 'no-such-post']
      : key === 'clientId' ? w.foreign.clientIds
      : [...w.users, w.self, w.visitorId, 'nobody'];
    const odd = ['a'.repeat(MAX_ID_LENGTH), 'a'.repeat(MAX_ID_LENGTH + 1), '', ' ', 'a b', 'a/b', '../x', 'ä', 'id\u0000', 'id\ud800', "x' OR '1'='1", '*', `unknown-${n}`];
    return [...pool, ...pool, ...odd];
  }

  string(key: string, base: string): unknown {
    const limit = ID_KEYS.has(key) ? MAX_ID_LENGTH : (LIMITS[key] ?? 64);
    const family = this.int(ID_KEYS.has(key) ? 5 : 4);
    if (family === 0) {
      const pairs = '\u{1F600}'.repeat(Math.floor(limit / 2));
      return this.pick(['x'.repeat(30_000), 'x'.repeat(limit - 1), 'x'.repeat(limit), 'x'.repeat(limit + 1), pairs, `${pairs}xx`, `${'x'.repeat(limit - 1)}\ud83d`, ` ${'x'.repeat(limit)} `, `\n${'x'.repeat(limit)}`, '€'.repeat(limit), '\u0085'.repeat(limit)]);
    }
    if (family === 1) {
      const char = this.pick(UNICODE);
      const at = this.int(base.length + 1);
      return this.pick([char, base.slice(0, at) + char + base.slice(at), char.repeat(1 + this.int(limit))]);
    }
    if (family === 2) return this.pick(['', ' ', '\t', '\n', '\u3000', '\u00a0', '\u200b', base.toUpperCase(), base.repeat(2)]);
    if (family === 3 && key === 'token') return this.pick(this.world.tokens);
    if (family === 3) return this.pick(NUMBERS);
    return this.pick(this.ids(key));
  }

  number(key: string): unknown {
    const edges: Record<string, number[]> = { limit: [0, 1, 100, 101, 200, 201], seq: [0, 1, 2, 1e6], createdAt: [0, Date.now()], after: [0, 1, 1e6], before: [0, 1, 1e6] };
    return this.random() < 0.3 ? this.pick(edges[key] ?? [0]) : this.pick(NUMBERS);
  }

  array(key: string, base: unknown[]): unknown {
    const item = base[0] ?? 'x';
    const name = key === 'groups' ? 'g' : 'carol';
    const many = (count: number, of: (i: number) => unknown) => Array.from({ length: count }, (_, i) => of(i));
    return this.pick([
      [], many(100, () => name), many(101, () => name), many(key === 'groups' ? 21 : 100, (i) => `${name}${i}`), [item, item],
      [this.string(key, String(item))], [this.chaos()], [this.nest(item, 1 + this.int(4))], [...this.world.users, this.world.self],
      [this.world.visitorId], item, new Entries([['0', item]]),
    ]);
  }

  /** A new value for `key`, whose valid value is `value`. */
  value(key: string, value: unknown): unknown {
    if (this.random() < 0.2) {
      this.notes.push(`${key}:chaos`);
      return this.random() < 0.5 ? this.chaos() : this.nest(value, 1 + this.int(MAX_DEPTH - 3));
    }
    this.notes.push(`${key}:${Array.isArray(value) ? 'array' : typeof value}`);
    if (typeof value === 'string') return this.string(key, value);
    if (typeof value === 'number') return this.number(key);
    if (typeof value === 'boolean') return this.pick([...WRONG_TYPES, 'true', 'false']);
    if (Array.isArray(value)) return this.array(key, value);
    return this.chaos();
  }

  /** A value for `key` that the validator accepts but sits at its edge (for the services and the storage). */
  edge(key: string, value: unknown): unknown {
    this.notes.push(`${key}:edge`);
    const w = this.world;
    const max = Number.MAX_SAFE_INTEGER;
    const postIds = [...w.foreign.posts, w.own.post];
    const byKey: Record<string, unknown[]> = {
      seq: [0, new Raw('-0'), 1, new Raw('1.0'), new Raw('1E2'), 2 ** 31, max],
      limit: [1, new Raw('1.0'), 100, 200, new Raw('1e2')],
      createdAt: [0, new Raw('-0'), 1, max, new Raw('1e15')],
      after: [0, new Raw('-0'), 1, 5, max],
      before: this.cmd === 'feed' ? postIds : [0, new Raw('-0'), 1, 2, max],
      text: ['x'.repeat(MAX_TEXT_LENGTH), '\u{1F600}'.repeat(MAX_TEXT_LENGTH / 2), '\u202eabc', 'a\u2028b\u2029c', '\u200f', 'e\u0301', 'a\r\nb\tc', '\u{10ffff}', ' padded ', '@mallory @alice @carol0', '\ufeff\ufffe', 'x\u3000'],
      title: ['x', 'x'.repeat(100), `  ${'x'.repeat(100)}  `, `\n${'x'.repeat(100)}\r\n`, '\u202eevil', 'a\u2028b', '\u{1F600}'.repeat(50), 'Fuzz group'],
      status: ['', 'x'.repeat(MAX_STATUS_LENGTH), '\u202e', '\u{1F600}'.repeat(MAX_STATUS_LENGTH / 2), 'a\u2028b'],
      show: ['online', 'away', 'dnd', 'invisible'],
      on: [true, false],
      token: w.tokens,
      members: [[], Array.from({ length: 100 }, () => 'carol'), [...w.users], [w.self], ['carol', w.self, 'carol']],
      groups: [[], Array.from({ length: 20 }, (_, i) => `${'g'.repeat(62)}${i}`.slice(-64)), ['a', 'a'], ['\u202e', '\u{1F600}'.repeat(32)]],
      source: [{ kind: 'home' }, { kind: 'mentions' }, ...[...w.users, w.self, w.visitorId].map((userId) => ({ kind: 'user', userId }))],
      // Others' conversations and messages in otherwise valid requests: authorisation.
      conversationId: [w.own.conversation, w.own.group, ...w.foreign.conversations],
      id: [...(this.cmd === 'deleteMessage' ? [w.own.deleted, w.own.spare] : [w.own.editTarget, w.own.deleted, w.own.spare]), ...w.foreign.messages.slice(0, 3)],
      replyTo: postIds,
      postId: postIds,
    };
    const ids = ['a'.repeat(MAX_ID_LENGTH), 'A.b:c@d-e_f', '-', '.', '..', ':', '@', '0', `new-${this.n}`];
    const candidates = byKey[key] ?? (ID_KEYS.has(key) ? [...w.users, w.self, w.visitorId] : [value]);
    return this.pick(ID_KEYS.has(key) && this.random() < 0.3 ? ids : candidates);
  }

  /** One or two edge values, or optional fields added or removed. */
  edges(entries: Array<[string, unknown]>): void {
    for (let times = 1 + this.int(2); times > 0; times--) {
      const at = this.int(entries.length);
      const entry = entries[at];
      const op = this.random();
      const optional = OPTIONAL[this.cmd];
      if (optional !== undefined && op < 0.4) {
        const key = this.pick(optional);
        entries.splice(0, entries.length, ...entries.filter(([k]) => k !== key), [key, this.edge(key, undefined)]);
      } else if (entry !== undefined && op < 0.85) {
        entries[at] = [entry[0], this.edge(entry[0], entry[1])];
      } else if (entry !== undefined) {
        this.notes.push(`${entry[0]}:missing`);
        entries.splice(at, 1);
      }
    }
  }

  /** Applies one to three mutations to the entries of an object, in place. */
  record(entries: Array<[string, unknown]>): void {
    for (let times = 1 + this.int(3); times > 0; times--) {
      const op = this.random();
      const at = this.int(entries.length);
      const entry = entries[at];
      if (entry !== undefined && op < 0.55) {
        const [key, value] = entry;
        if (typeof value === 'object' && value !== null && !Array.isArray(value) && this.random() < 0.6) {
          const inner = value instanceof Entries ? value.entries : Object.entries(value);
          this.record(inner);
          entries[at] = [key, new Entries(inner)];
        } else {
          entries[at] = [key, this.value(key, value)];
        }
      } else if (entry !== undefined && op < 0.7) {
        this.notes.push(`${entry[0]}:missing`);
        entries.splice(at, 1);
      } else if (entry !== undefined && op < 0.85) {
        this.notes.push(`${entry[0]}:repeated`);
        entries.splice(this.random() < 0.5 ? at : at + 1, 0, [entry[0], this.value(entry[0], entry[1])]);
      } else {
        const key = this.pick(EXTRA_KEYS);
        this.notes.push(`extra ${key.slice(0, 12)}`);
        entries.push([key, this.random() < 0.3 ? new Entries([['conversationId', this.world.foreign.conversations[0]]]) : this.chaos()]);
      }
    }
  }

  /** The whole `args` replaced by something else. */
  args(valid: object): unknown {
    this.notes.push('args');
    return this.pick([[], [valid], 'x', null, 0, true, new Raw('-0'), undefined, this.nest(valid, 1 + this.int(4)), new Entries(Array.from({ length: 200 }, (_, i) => [`k${i}`, i]))]);
  }

  /** A request frame (entries) whose envelope is broken: counted against the malformed-frame budget. */
  envelope(entries: Array<[string, unknown]>): unknown {
    const n = this.n;
    const family = this.int(5);
    this.notes.push(`envelope ${family}`);
    const set = (key: string, value: unknown) => entries.map(([k, v]): [string, unknown] => [k, k === key ? value : v]).filter(([, v]) => v !== undefined);
    if (family === 0) return new Entries(set('id', this.pick([123, '', 'x'.repeat(65), null, undefined, ['a'], { id: 'a' }])));
    if (family === 1) return new Entries(set('cmd', this.pick(['dropTables', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'SENDMESSAGE', '', 5, null, undefined, 'x'.repeat(30_000), ['sendMessage'], new Raw('1e999')])));
    if (family === 2) return new Entries(set('type', this.pick(['REQ', 'request', 'event', 'res', 'hello', 5, null, undefined, 'x'.repeat(30_000), { type: 'req' }])));
    if (family === 3) return new Raw(this.pick(['not json', '', '[]', 'null', '"req"', '{"type":"req"', `{"type":"req","id":"d${n}","cmd":"roster","args":${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}}`]));
    return { type: 'hello', v: 1, auth: { visitor: { name: 'again' } } };
  }
}

// ---- what the server must answer

type Expectation =
  | { kind: 'close'; code: number }
  | { kind: 'pong' }
  /** Broken at the envelope: an error (with the id when it was valid), counted towards closing with 1002. */
  | { kind: 'refused'; id: string | undefined }
  | { kind: 'answer'; id: string; cmd: CommandName; args: unknown; error: string | undefined };

/** What protocol.md promises for a raw frame, derived with the shared validators. */
function expectationOf(text: string | Buffer): Expectation {
  if (Buffer.isBuffer(text)) return { kind: 'refused', id: undefined };
  if (Buffer.byteLength(text) > MAX_FRAME_BYTES) return { kind: 'close', code: CLOSE.tooLarge };
  const parsed = parseFrame(text);
  if (!parsed.ok) return { kind: 'refused', id: undefined };
  const frame = parsed.value;
  const id = typeof frame.id === 'string' && frame.id.length > 0 && frame.id.length <= 64 ? frame.id : undefined;
  if (frame.type === 'ping') return { kind: 'pong' };
  if (frame.type !== 'req' || id === undefined || typeof frame.cmd !== 'string' || !Object.hasOwn(COMMAND_ARGS, frame.cmd)) return { kind: 'refused', id };
  const valid = validateClientFrame(frame);
  return { kind: 'answer', id, cmd: frame.cmd as CommandName, args: valid.ok && valid.value.type === 'req' ? valid.value.args : frame.args, error: valid.ok ? undefined : valid.error };
}

interface Planned {
  text: string | Buffer;
  expect: Expectation;
  notes: string[];
  /** Unmutated: must succeed (for the user). */
  valid: boolean;
  visitor: boolean;
}

/** Plans frame `n` for the user or, with `visitor`, the visitor. */
function plan(random: () => number, world: World, n: number, visitor: boolean): Planned {
  const cmd = COMMANDS[Math.floor(random() * COMMANDS.length)] as CommandName;
  const m = new Mutator(random, world, n, cmd);
  const valid = BASE[cmd](world, n);
  const id = m.random() < 0.04 ? m.pick([`${'i'.repeat(60)}${n}`.slice(-64), `\ud800${n}`, `__proto__${n}`, `\u202e${n}`]) : `f${n}`;
  let args: unknown = valid;
  const roll = m.random();
  if (roll >= 0.1 && roll < 0.9) {
    const entries = Object.entries(valid);
    if (roll < 0.4) m.edges(entries);
    else m.record(entries);
    args = new Entries(entries);
  } else if (roll >= 0.9) {
    args = m.args(valid);
  }
  let frame: unknown = new Entries(([['type', 'req'], ['id', id], ['cmd', cmd], ['args', args]] as Array<[string, unknown]>).filter(([, v]) => v !== undefined));
  const special = m.random();
  if (special < 0.035) frame = m.envelope((frame as Entries).entries);
  else if (special < 0.05) frame = { type: 'ping' };
  else if (special < 0.055) frame = new Entries([...(frame as Entries).entries, ['padding', '']]);
  let text = encode(frame);
  if (special >= 0.05 && special < 0.055) {
    // A frame of exactly 64 KiB (served) or one byte more (closed with 1009).
    const size = MAX_FRAME_BYTES + (m.random() < 0.5 ? 0 : 1) - Buffer.byteLength(text);
    if (size > 0) text = `${text.slice(0, -2)}${'x'.repeat(size)}"}`;
    m.notes.push(`frame of ${Buffer.byteLength(text)} bytes`);
  }
  const binary = special >= 0.035 && special < 0.04;
  if (binary) m.notes.push('binary');
  const raw: string | Buffer = binary ? Buffer.from(text) : text;
  return { text: raw, expect: expectationOf(raw), notes: [cmd, ...m.notes], valid: roll < 0.1 && special >= 0.055 && id === `f${n}`, visitor };
}

// ---- checking the answers

const world = {} as World;
const failures: string[] = [];

/** A planned frame and its answer, for failure messages. */
function describeFrame(planned: Planned, answer: Frame | undefined): string {
  const text = Buffer.isBuffer(planned.text) ? '<binary>' : planned.text;
  return `frame [${planned.notes.join(', ')}]${planned.visitor ? ' as visitor' : ''}: ${JSON.stringify(text.slice(0, 300))}\n    answer: ${JSON.stringify(answer)?.slice(0, 400)}`;
}

function fail(why: string, planned: Planned, answer: Frame | undefined): void {
  failures.push(`${why}\n    ${describeFrame(planned, answer)}`);
}

/** True when `message` is a sentence for people, not a stack trace or an echo of the frame. */
const isSentence = (message: unknown) =>
  typeof message === 'string' && /^["\p{Lu}\p{Ll}]/u.test(message) && /[.!?]$/.test(message) && message.length >= 10 && message.length <= 500 && !/\n\s+at |SQLITE|TypeError|undefined/.test(message);

function checkError(planned: Planned, answer: Frame): void {
  if (!ERROR_CODES.includes(answer.code as (typeof ERROR_CODES)[number])) fail(`unknown error code ${String(answer.code)}`, planned, answer);
  if (answer.code === 'internal') fail('internal error: an unhandled exception', planned, answer);
  if (!isSentence(answer.message)) fail('the error message is not a clear sentence', planned, answer);
  if ('retryAfter' in answer && answer.code !== 'rate_limited' && answer.code !== 'unavailable') fail('retryAfter on an error that is no throttle', planned, answer);
}

/** Checks the one answer to a request frame. */
function checkAnswer(planned: Planned, answer: Frame): void {
  const expect = planned.expect;
  if (answer.type !== 'res' && answer.type !== 'error') return fail(`answered with a ${answer.type} frame`, planned, answer);
  if (answer.type === 'error') checkError(planned, answer);
  if (expect.kind === 'refused') {
    if (answer.type !== 'error' || answer.code !== 'bad_request') fail('a broken envelope must get bad_request', planned, answer);
    return;
  }
  if (expect.kind !== 'answer') return;
  const args = (typeof expect.args === 'object' && expect.args !== null ? expect.args : {}) as Record<string, unknown>;
  if (expect.error !== undefined) {
    // protocol.md: too_large only when the length of the text is all that is wrong.
    const long = typeof args.text === 'string' && args.text.length > MAX_TEXT_LENGTH && (COMMAND_ARGS[expect.cmd] as (a: Record<string, unknown>) => { ok: boolean })({ ...args, text: 'x' }).ok;
    if (answer.type !== 'error' || answer.code !== (long ? 'too_large' : 'bad_request')) fail(`invalid arguments must get ${long ? 'too_large' : 'bad_request'}`, planned, answer);
    else if (answer.message !== expect.error) fail(`the error must say what the validator says: ${expect.error}`, planned, answer);
    return;
  }
  const allowed = ['bad_request', 'not_found', 'forbidden', ...(expect.cmd === 'reauth' ? ['unauthorized'] : [])];
  if (answer.type === 'error' && !allowed.includes(String(answer.code))) fail(`valid arguments got ${String(answer.code)}`, planned, answer);
  if (planned.visitor) {
    if (!VISITOR_COMMANDS.has(expect.cmd) && answer.type === 'res') fail(`a visitor was served ${expect.cmd}`, planned, answer);
    if (expect.cmd === 'profile' && args.userId !== world.visitorId && answer.type === 'res') fail('a visitor saw a stranger’s profile', planned, answer);
  } else if (planned.valid && answer.type !== 'res') {
    fail('a valid request was refused', planned, answer);
  }
  // Authorisation: another user's conversation or message never serves.
  if (world.foreign.conversations.includes(String(args.conversationId)) && (answer.type !== 'error' || answer.code !== 'forbidden')) {
    fail('a conversation of others must be forbidden', planned, answer);
  }
  if ((expect.cmd === 'editMessage' || expect.cmd === 'deleteMessage') && world.foreign.messages.includes(String(args.id)) && answer.type === 'res') {
    fail('another user’s message was changed', planned, answer);
  }
}

// ---- connections

/** A fuzzing connection: reconnects after the closes the protocol announces. */
class Peer {
  client!: TestClient;
  /** Malformed frames counted by the server on this connection. */
  malformed = 0;
  reconnects = 0;
  constructor(
    readonly url: string,
    readonly auth: () => Promise<Parameters<TestClient['hello']>[0]>,
  ) {}

  async connect(): Promise<void> {
    this.client = await TestClient.open(this.url);
    const welcome = await this.client.hello(await this.auth());
    assert.equal(welcome.type, 'welcome', `sign-in: ${JSON.stringify(welcome)}`);
    this.malformed = 0;
  }

  async reconnect(code: number, planned: Planned): Promise<void> {
    const closed = await Promise.race([this.client.closed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5000))]);
    if (closed?.code !== code) fail(`expected a close with ${code}, got ${closed?.code ?? 'none'}`, planned, undefined);
    this.reconnects++;
    await this.connect();
  }
}

let barrier = 0;

/** Waits for a frame on `client`, failing fast when the socket closes first. */
async function frameOrClose(client: TestClient, match: (frame: Frame) => boolean, ms = 10_000): Promise<Frame> {
  const next = client.next(match, ms);
  next.catch(() => undefined);
  return Promise.race([next, client.closed.then(({ code }): Frame => ({ type: 'closed', code }))]);
}

/** Sends `batch`, then a barrier request; checks that each frame got exactly its answer. */
async function runBatch(peer: Peer, batch: Planned[]): Promise<void> {
  const { client } = peer;
  for (const planned of batch) client.ws.send(planned.text, { binary: Buffer.isBuffer(planned.text) });
  const id = `barrier-${++barrier}`;
  client.send({ type: 'req', id, cmd: 'conversations' });
  // Answers leave in arrival order, and refusals at once: once the barrier's came, all did.
  const answer = await frameOrClose(client, (frame) => frame.id === id);
  if (answer.type !== 'res') {
    failures.push(`the barrier after ${batch.length} frames got ${JSON.stringify(answer)}; the batch:\n${batch.map((p) => `    ${describeFrame(p, undefined)}`).join('\n')}`);
    return peer.reconnect(Number(answer.code), batch[0] as Planned).catch(() => peer.connect());
  }
  const byId = new Map<string, Frame[]>();
  const idless: Frame[] = [];
  let pongs = 0;
  for (const frame of client.inbox.splice(0)) {
    if (frame.type === 'event') {
      if (!EVENTS.has(String(frame.event))) failures.push(`unknown event ${JSON.stringify(frame).slice(0, 200)}`);
    } else if (frame.type === 'pong') pongs++;
    else if (typeof frame.id === 'string') byId.set(frame.id, [...(byId.get(frame.id) ?? []), frame]);
    else idless.push(frame);
  }
  for (const planned of batch) {
    const expect = planned.expect;
    if (expect.kind === 'pong') {
      if (pongs-- <= 0) fail('a ping got no pong', planned, undefined);
      continue;
    }
    if (expect.kind === 'close') continue;
    const answer = expect.id === undefined ? idless.shift() : byId.get(expect.id)?.shift();
    if (answer === undefined) fail('no answer', planned, undefined);
    else checkAnswer(planned, answer);
  }
  for (const [key, extra] of byId) if (extra.length > 0) failures.push(`${extra.length} answers too many for id ${key}: ${JSON.stringify(extra).slice(0, 300)}`);
  if (idless.length > 0) failures.push(`${idless.length} id-less answers too many: ${JSON.stringify(idless).slice(0, 300)}`);
  if (pongs > 0) failures.push(`${pongs} pongs too many`);
}

/** Sends one frame that ends the connection (the tenth malformed one, one over 64 KiB) and reconnects. */
async function runClosing(peer: Peer, planned: Planned): Promise<void> {
  peer.client.ws.send(planned.text, { binary: Buffer.isBuffer(planned.text) });
  if (planned.expect.kind === 'refused') {
    const answer = await frameOrClose(peer.client, (frame) => frame.type === 'error');
    if (answer.type === 'closed') fail('the tenth malformed frame got no error before the close', planned, undefined);
    else checkAnswer(planned, answer);
    return peer.reconnect(CLOSE.protocolError, planned);
  }
  const old = peer.client;
  await peer.reconnect(CLOSE.tooLarge, planned);
  const answered = old.inbox.find((frame) => frame.type !== 'event');
  if (answered !== undefined) fail('a frame over 64 KiB was answered', planned, answered);
}

// ---- the scene: stored data to protect, and a conversation going on during the run

let server: ChildServer | undefined;
const dir = mkdtempSync(join(tmpdir(), 'perch-fuzz-'));
after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const serverArgs = ['--port', '0', '--db', join(dir, 'fuzz.db'), '--secret', SECRET, '--rate-per-connection', '100000', '--rate-per-identity', '100000'];

/** Starts the server; `stderr()` is everything it printed but the line saying where it listens. */
async function start(): Promise<{ server: ChildServer; stderr: () => string }> {
  const child = await spawnServer(serverArgs);
  return { server: child, stderr: () => child.output().replace(/^perch-server listening on .*\n/, '') };
}

/** The id of a stored message or post (only unsent ones have none). */
const idOf = (item: { id?: string }): string => item.id ?? assert.fail('a stored item has an id');
const signIn = async (url: string, user: string) => TestClient.signIn(url, await token(user));
const send = (client: TestClient, conversationId: string, text: string) =>
  client.request('sendMessage', { conversationId, clientId: crypto.randomUUID(), text, createdAt: Date.now() });

async function allMessages(client: TestClient, conversationId: string): Promise<Message[]> {
  const messages: Message[] = [];
  for (;;) {
    const page = await client.request('history', { conversationId, after: messages.at(-1)?.seq ?? 0, limit: 200 });
    messages.push(...page.messages);
    if (page.complete) return messages;
  }
}

/** What must survive the run: alice's conversations, messages, markers and posts. */
async function snapshot(alice: TestClient, ids: { direct: string; group: string }) {
  const conversations = await alice.request('conversations', {});
  const marks = (c: Conversation | undefined) => ({ lastSeq: c?.lastSeq, members: c?.members, readBy: c?.readBy, deliveredTo: c?.deliveredTo, title: c?.title });
  const posts = (await alice.request('feed', { source: { kind: 'user', userId: 'alice' }, limit: 100 })).posts;
  return {
    direct: await allMessages(alice, ids.direct),
    group: await allMessages(alice, ids.group),
    groupMarks: marks(conversations.find((c) => c.id === ids.group)),
    aliceInDirect: { read: conversations.find((c) => c.id === ids.direct)?.readBy?.alice, delivered: conversations.find((c) => c.id === ids.direct)?.deliveredTo?.alice },
    posts: posts.map(({ id, clientId, authorId, text, createdAt, sentAt, replyTo }: Post) => ({ id, clientId, authorId, text, createdAt, sentAt, replyTo })),
  };
}

/** Seqs 1..lastSeq without holes. */
function assertNoHoles(messages: Message[], what: string): void {
  assert.deepEqual(messages.map((m) => m.seq), messages.map((_, i) => i + 1), `${what}: seqs run from 1 without holes`);
}

test(`fuzzing every command leaves the server up, answering each frame clearly, and the stored data intact (FUZZ_SEED=${SEED})`, async (t) => {
  const started = performance.now();
  let running = await start();
  server = running.server;
  const url = server.url;
  try {
    // Stored before the fuzzing: a direct and a group of alice's, with edits, a deletion, markers and posts.
    const alice = await signIn(url, 'alice');
    const bob = await signIn(url, 'bob');
    (await signIn(url, 'carol')).close();
    const mallory = await signIn(url, 'mallory');
    const direct = await alice.request('openDirect', { userId: 'bob' });
    for (let i = 1; i <= 10; i++) await send(i % 2 ? alice : bob, direct.id, `before ${i}`);
    const page = await alice.request('history', { conversationId: direct.id, limit: 10 });
    await alice.request('editMessage', { conversationId: direct.id, id: idOf(page.messages[0]!), text: 'before 1, edited' });
    await bob.request('deleteMessage', { conversationId: direct.id, id: idOf(page.messages[3]!) });
    await bob.request('markRead', { conversationId: direct.id, seq: 6 });
    const group = await alice.request('createGroup', { title: 'Crew', members: ['bob', 'carol'], clientId: 'crew' });
    for (let i = 1; i <= 5; i++) await send(alice, group.id, `group ${i}`);
    const posts = [];
    for (let i = 1; i <= 3; i++) posts.push(await alice.request('post', { clientId: `ap${i}`, text: `alice post ${i} @bob`, createdAt: Date.now() }));
    await bob.request('post', { clientId: 'bp1', text: 'a reply', createdAt: Date.now(), replyTo: idOf(posts[0]!) });
    const ids = { direct: direct.id, group: group.id };
    const before = await snapshot(alice, ids);

    const own = await mallory.request('openDirect', { userId: 'carol' });
    const editTarget = await send(mallory, own.id, 'edit me');
    const deleted = await send(mallory, own.id, 'delete me');
    await mallory.request('deleteMessage', { conversationId: own.id, id: idOf(deleted) });
    const spare = await send(mallory, own.id, 'spare');
    for (let i = 0; i < 3; i++) await send(mallory, own.id, `mine ${i}`);
    const ownBefore = await allMessages(mallory, own.id);
    const ownPost = await mallory.request('post', { clientId: 'mp1', text: 'mine', createdAt: Date.now() });
    // The group that the unmutated createGroup frames ask for again (BASE.createGroup reads no world).
    const ownGroup = await mallory.request('createGroup', BASE.createGroup(world, 0));
    await send(mallory, ownGroup.id, 'mine too');
    mallory.close();

    const visitor = await TestClient.signIn(url, { visitor: { name: 'Fuzz visitor' } });
    const visitorToken = String((visitor.welcome.session as { visitorToken: string }).visitorToken);
    const visitorId = String((visitor.welcome.session as { user: { id: string } }).user.id);
    visitor.close();
    const mint = (options: Partial<Parameters<typeof mintToken>[0]>) => mintToken({ secret: SECRET, sub: 'mallory', name: 'Mallory', ...options });
    const header = Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url');
    const claims = Buffer.from(JSON.stringify({ sub: 'mallory', aud: 'perch', iss: 'perch', exp: 4102444800 })).toString('base64url');
    Object.assign(world, {
      self: 'mallory',
      visitorId,
      users: ['alice', 'bob', 'carol'],
      own: { conversation: own.id, group: ownGroup.id, editTarget: idOf(editTarget), deleted: idOf(deleted), spare: idOf(spare), post: idOf(ownPost) },
      foreign: {
        conversations: [direct.id, group.id],
        messages: [...before.direct, ...before.group].map(idOf),
        posts: before.posts.map(idOf),
        clientIds: before.direct.map((m) => m.clientId),
      },
      tokens: [
        await mint({}), await mint({ name: 'Mal\u0007\nlory\ud800' }), await token('alice'), await mint({ ttlSeconds: -3600 }),
        await mint({ secret: 'wrong' }), await mint({ name: 'x'.repeat(201) }), await mint({ title: 'x'.repeat(2049) }),
        await mint({ sub: 'a b' }), await mint({ sub: visitorId }), await mint({ audience: 'other' }), `${header}.${claims}.`, 'a.b.c',
        // Claims of the wrong JSON types, signed with the right secret.
        await new SignJWT({ name: 5, title: { a: 1 }, tz: ['x'], avatar: 'javascript:alert(1)' }).setProtectedHeader({ alg: 'HS256' }).setSubject('mallory')
          .setAudience('perch').setIssuer('perch').setExpirationTime('1h').sign(new TextEncoder().encode(SECRET)),
        await new SignJWT({ sub: 7 as unknown as string, exp: 'soon' as unknown as number, aud: 'perch', iss: 'perch' }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET)),
      ],
    } satisfies World);

    // Bob keeps writing to alice during the run: each message must be answered and reach her.
    let fuzzing = true;
    const chat: Message[] = [];
    const chatting = (async () => {
      for (let i = 0; fuzzing; i++) {
        const sent = await send(bob, direct.id, `during ${i}`);
        chat.push(sent);
        await alice.event<Message>('message', (m) => m.id === sent.id, 5000);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    chatting.catch(() => undefined); // awaited below

    const random = mulberry32(SEED);
    const user = new Peer(url, async () => ({ token: await token('mallory') }));
    const guest = new Peer(url, async () => ({ visitor: { token: visitorToken } }));
    await user.connect();
    await guest.connect();
    const perCommand = new Map<string, number>();
    for (let n = 0; n < COUNT; ) {
      const peer = random() < 0.15 ? guest : user;
      const batch: Planned[] = [];
      for (let size = 1 + Math.floor(random() * 24); size > 0 && n < COUNT; size--, n++) {
        const planned = plan(random, world, n, peer === guest);
        perCommand.set(planned.notes[0]!, (perCommand.get(planned.notes[0]!) ?? 0) + 1);
        if (planned.valid && batch.length > 0 && random() < 0.1) batch.push({ ...planned }); // the same frame, same id, twice
        const closes = planned.expect.kind === 'close' || (planned.expect.kind === 'refused' && peer.malformed === MAX_PROTOCOL_ERRORS - 1);
        if (!closes) {
          if (planned.expect.kind === 'refused') peer.malformed++;
          batch.push(planned);
          continue;
        }
        await runBatch(peer, batch.splice(0));
        await runClosing(peer, planned);
      }
      if (batch.length > 0) await runBatch(peer, batch);
      if (failures.length > 20) break;
    }
    fuzzing = false;
    await chatting;
    const fuzzed = performance.now() - started;

    assert.deepEqual(failures, [], `${failures.length} frames broke the rule (FUZZ_SEED=${SEED} FUZZ_COUNT=${COUNT})`);
    if (COUNT >= 1000) {
      for (const cmd of COMMANDS) assert.ok((perCommand.get(cmd) ?? 0) >= COUNT / COMMANDS.length / 3, `${cmd} was fuzzed (${perCommand.get(cmd) ?? 0} frames)`);
      assert.ok(user.reconnects > 0, 'the malformed-frame limit was reached, and the user reconnected');
    }
    assert.equal(server.child.exitCode, null, 'the server is still running');
    assert.equal(running.stderr(), '', 'the server printed no error');

    // The bystanders were served throughout, and still are.
    assert.ok(chat.length > 0, 'bob chatted during the run');
    const last = await send(bob, direct.id, 'still here');
    assert.equal((await alice.event<Message>('message', (m) => m.id === last.id)).text, 'still here');
    const verify = async (client: TestClient) => {
      const now = await snapshot(client, ids);
      assert.deepEqual(now.direct.slice(0, before.direct.length), before.direct, 'the messages stored before are unchanged, with the same seqs');
      assert.deepEqual(now.direct.slice(before.direct.length).map((m) => m.text), [...chat.map((m) => m.text), 'still here'], 'and bob’s during the run follow them');
      assertNoHoles(now.direct, 'the direct');
      assert.deepEqual(now.group, before.group, 'the group is unchanged');
      assert.deepEqual(now.groupMarks, before.groupMarks, 'the group’s markers are unchanged');
      assert.deepEqual(now.aliceInDirect, before.aliceInDirect, 'alice’s markers are unchanged');
      assert.deepEqual(now.posts, before.posts, 'alice’s posts are unchanged');
    };
    await verify(alice);
    const mine = await allMessages(await signIn(url, 'mallory'), own.id);
    assertNoHoles(mine, 'the fuzzer’s own conversation');
    assert.deepEqual(mine.slice(0, ownBefore.length).map((m) => [m.id, m.seq]), ownBefore.map((m) => [m.id, m.seq]), 'the fuzzer’s own messages keep their ids and seqs');

    // A graceful restart loses nothing either.
    const stopped = await server.stop('SIGTERM');
    assert.equal(stopped.code, 0, 'the server shut down cleanly');
    assert.equal(running.stderr(), '', 'and printed no error while doing so');
    running = await start();
    server = running.server;
    await verify(await signIn(server.url, 'alice'));
    assert.equal(running.stderr(), '', 'the restarted server printed no error');
    t.diagnostic(`seed ${SEED}: ${COUNT} frames over ${COMMANDS.length} commands in ${(fuzzed / 1000).toFixed(1)} s, ${user.reconnects + guest.reconnects} reconnects, ${chat.length} bystander messages`);
  } catch (error) {
    if (error instanceof Error) error.message = `${error.message}\n(reproduce with FUZZ_SEED=${SEED} FUZZ_COUNT=${COUNT})`;
    throw error;
  }
});

test('a refusal names the value it refused briefly: "nothing" when it is missing, the start of a long one', () => {
  // Found by the fuzzing above: the validators echoed the value whole ("got undefined", or 30,000 characters).
  const refusal = (frame: Record<string, unknown>) => {
    const valid = validateClientFrame(frame);
    assert.equal(valid.ok, false);
    return (valid as { error: string }).error;
  };
  const req = (cmd: unknown, args: unknown = {}) => ({ type: 'req', id: '1', cmd, args });
  const shows = 'Presence "show" must be one of online, away, dnd, invisible; got';
  assert.equal(refusal(req('setPresence', { status: 'Out' })), `${shows} nothing.`);
  assert.equal(refusal(req('setPresence', { show: 'x'.repeat(30_000) })), `${shows} "${'x'.repeat(20)}…" (30000 characters).`);
  assert.equal(refusal(req('setPresence', { show: 'busy' })), `${shows} "busy".`);
  assert.equal(refusal(req('setPresence', { show: Infinity })), `${shows} Infinity.`, '1e999 parses as Infinity, which JSON would call null');
  assert.equal(refusal(req('setPresence', { show: Array(50).fill('away') })), `${shows} an array of 50 items.`);
  assert.equal(refusal({ type: 'req', id: '1' }), 'A request needs a "cmd", the name of a command.');
  assert.equal(refusal(req(['sendMessage'])), '"cmd" must be the name of a command; got ["sendMessage"].');
  assert.equal(refusal(req(`a${'\u{1F600}'.repeat(15_000)}`)), `Unknown command "a${'\u{1F600}'.repeat(9)}…" (30001 characters).`, 'cut between characters');
  assert.equal(refusal({ id: '1', cmd: 'roster' }), 'A frame needs a "type": "hello", "req" or "ping".');
  assert.equal(refusal({ type: 'hello', auth: { token: 'a' } }), 'A hello needs "v", the protocol version; this server speaks 1.');
  assert.equal(refusal({ type: 'hello', v: 2, auth: { token: 'a' } }), 'Unsupported protocol version 2; this server speaks 1.');
});
