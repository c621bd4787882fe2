import { checkCharacters } from './characters.js';
import type { Message, Post, PresenceShow, User } from './model.js';

/** Longest message or post text, in UTF-16 code units, that any Perch backend accepts. */
export const MAX_TEXT_LENGTH = 10_000;
/** Longest personal status message. */
export const MAX_STATUS_LENGTH = 280;
/** Longest id or clientId. */
export const MAX_ID_LENGTH = 128;

/** The result of validating untrusted input: the value, or a sentence saying what is wrong. */
export type Validated<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): Validated<T> => ({ ok: true, value });
const fail = <T>(error: string): Validated<T> => ({ ok: false, error });

const SHOWS: readonly PresenceShow[] = ['online', 'away', 'dnd', 'invisible', 'offline'];
const ID_PATTERN = /^[A-Za-z0-9_.:@-]+$/;

/** True when `value` is a plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when `value` can serve as an id: 1–128 characters of letters, digits and `_ . : @ -`. */
export function isId(value: unknown): value is string {
  // ID_PATTERN refuses the empty string.
  return typeof value === 'string' && value.length <= MAX_ID_LENGTH && ID_PATTERN.test(value);
}

/** True for a finite, non-negative integer (a seq, a count or a timestamp). */
export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Names a refused value in an error message, briefly whatever it is: its JSON when that is short, a
 * long string by its start and length (`"xxxxxxxxxxxxxxxxxxxx…" (30000 characters)`), a long array
 * or object by its kind, and "nothing" when it is missing. The value is the sender's own input:
 * echoing all of it would make an unreadable message, and an answer as large as the frame.
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  // JSON would write Infinity and NaN (from 1e999) as null.
  if (typeof value === 'number') return String(value);
  const json = JSON.stringify(value);
  if (json.length <= 40) return json;
  // Cut between characters, not inside a surrogate pair.
  if (typeof value === 'string') {
    const start = JSON.stringify(value.slice(0, /[\ud800-\udbff]/.test(value.charAt(19)) ? 19 : 20));
    return `${start.slice(0, -1)}…" (${value.length} characters)`;
  }
  return Array.isArray(value) ? `an array of ${value.length} items` : 'an object';
}

/** True for a presence value that Perch knows. */
export function isPresenceShow(value: unknown): value is PresenceShow {
  return typeof value === 'string' && (SHOWS as readonly string[]).includes(value);
}

/**
 * Checks message or post text: a string, not blank, at most {@link MAX_TEXT_LENGTH} code units,
 * and with no C0 control character or DEL other than tab, line feed and carriage return. Servers
 * also refuse C1 controls and unpaired surrogates, with `checkText` (frames.ts): that
 * check is not made here because `@perch/core` imports this function and has no bytes to spare.
 */
export function validateText(text: unknown, what = 'Text'): Validated<string> {
  if (typeof text !== 'string') return fail(`${what} must be a string.`);
  if (!text.trim()) return fail(`${what} is empty; type something before sending.`);
  if (text.length > MAX_TEXT_LENGTH) {
    return fail(`${what} is ${text.length} characters long; the limit is ${MAX_TEXT_LENGTH}.`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) {
    return fail(`${what} contains control characters, which are not allowed.`);
  }
  return ok(text);
}

/**
 * Checks a personal status message: a string of at most {@link MAX_STATUS_LENGTH} characters, one
 * line without control characters.
 */
export function validateStatus(status: unknown): Validated<string> {
  if (typeof status !== 'string') return fail('Status must be a string.');
  if (status.length > MAX_STATUS_LENGTH) {
    return fail(`Status is ${status.length} characters long; the limit is ${MAX_STATUS_LENGTH}.`);
  }
  return checkCharacters(status, 'Status');
}

/** Checks a presence update coming from a user: a known `show` and an optional status message. */
export function validatePresence(input: unknown): Validated<{ show: Exclude<PresenceShow, 'offline'>; status?: string }> {
  if (!isRecord(input)) return fail('Presence must be an object like { show: "online", status: "…" }.');
  if (!isPresenceShow(input.show) || input.show === 'offline') {
    return fail(`Presence "show" must be one of online, away, dnd, invisible; got ${describeValue(input.show)}.`);
  }
  if (input.status === undefined) return ok({ show: input.show });
  const status = validateStatus(input.status);
  if (!status.ok) return status;
  return ok({ show: input.show, status: status.value });
}

const OPTIONAL_PROFILE_FIELDS = ['avatar', 'title', 'department', 'phone', 'email', 'location', 'timeZone'] as const;

/** Checks a user profile received from a peer; unknown fields are dropped. */
export function validateUser(input: unknown): Validated<User> {
  if (!isRecord(input)) return fail('A user must be an object.');
  if (!isId(input.id)) return fail('A user needs an id of 1–128 letters, digits or _ . : @ -.');
  if (typeof input.name !== 'string' || input.name.length === 0 || input.name.length > 200) {
    return fail(`User ${input.id} needs a name of 1–200 characters.`);
  }
  const user: User = { id: input.id, name: input.name };
  for (const field of OPTIONAL_PROFILE_FIELDS) {
    const value = input[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length > 2048) {
      return fail(`User ${input.id}: "${field}" must be a string of at most 2048 characters.`);
    }
    user[field] = value;
  }
  if (input.visitor === true) user.visitor = true;
  return ok(user);
}

/** Checks a persisted message received from a backend (it must carry its server id and seq). */
export function validateMessage(input: unknown): Validated<Message> {
  if (!isRecord(input)) return fail('A message must be an object.');
  const { id, conversationId, seq, senderId, clientId, text, createdAt } = input;
  if (!isId(id) || !isId(conversationId) || !isId(senderId)) {
    return fail('A message needs id, conversationId and senderId.');
  }
  if (!isId(clientId)) return fail(`Message ${id} has no valid clientId.`);
  if (!isCount(seq) || seq === 0) return fail(`Message ${id} has no valid seq (a positive integer).`);
  if (typeof text !== 'string' || text.length > MAX_TEXT_LENGTH) return fail(`Message ${id} has invalid text.`);
  if (!isCount(createdAt)) return fail(`Message ${id} has no valid createdAt.`);
  const message: Message = {
    id,
    conversationId,
    seq,
    senderId,
    clientId,
    text,
    createdAt,
    state: 'sent',
  };
  if (isCount(input.sentAt)) message.sentAt = input.sentAt;
  if (isCount(input.editedAt)) message.editedAt = input.editedAt;
  if (input.deleted === true) message.deleted = true;
  return ok(message);
}

/** Checks a published post received from a backend. */
export function validatePost(input: unknown): Validated<Post> {
  if (!isRecord(input)) return fail('A post must be an object.');
  const { id, authorId, clientId, text, createdAt, likes } = input;
  if (!isId(id) || !isId(authorId) || !isId(clientId)) return fail('A post needs id, authorId and clientId.');
  if (typeof text !== 'string' || text.length > MAX_TEXT_LENGTH) return fail(`Post ${id} has invalid text.`);
  if (!isCount(createdAt)) return fail(`Post ${id} has no valid createdAt.`);
  const post: Post = { id, authorId, clientId, text, createdAt, likes: isCount(likes) ? likes : 0, state: 'sent' };
  if (isCount(input.sentAt)) post.sentAt = input.sentAt;
  if (isId(input.replyTo)) post.replyTo = input.replyTo;
  if (isId(input.replyToAuthorId)) post.replyToAuthorId = input.replyToAuthorId;
  if (isCount(input.replies)) post.replies = input.replies;
  if (typeof input.liked === 'boolean') post.liked = input.liked;
  return ok(post);
}
