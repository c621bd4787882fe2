/**
 * Characters no user-visible text may hold: control characters (Unicode category Cc — C0
 * U+0000–U+001F, DEL U+007F and C1 U+0080–U+009F), and half a surrogate pair, which is no
 * character at all (`JSON.parse` makes one from an escape such as `"\ud83d"`, and SQLite would
 * store it as U+FFFD, so the stored text would differ from the one acknowledged). A multi-line text
 * (a message, a post) may hold tab, line feed and carriage return; a one-line field (a title, a
 * status, a name) none of them. Format characters stay allowed: bidi marks (U+200E, U+200F,
 * U+061C), isolates and joiners are how right-to-left and many other scripts are written.
 *
 * `@perch/core` does not import this module (its size budget is spent): it checks texts with
 * `validateText`, which knows C0 and DEL only.
 */
import type { Validated } from './validate.js';

/** Any control character or unpaired surrogate. */
const IN_LINE = /[\p{Cc}\p{Cs}]/u;
/** The same but tab, line feed and carriage return. */
const IN_TEXT = /[^\P{Cc}\t\n\r]|\p{Cs}/u;

/** Describes the first character of `text` it may not hold, or returns undefined when there is none. */
function forbiddenCharacter(text: string, multiLine: boolean): string | undefined {
  const found = (multiLine ? IN_TEXT : IN_LINE).exec(text);
  if (found === null) return undefined;
  const code = found[0].charCodeAt(0);
  const name = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return code >= 0xd800 ? `half of a surrogate pair (${name}) without its other half` : `the control character ${name}`;
}

/**
 * Checks that `text` holds no control character (in a `multiLine` text: none but tab, line feed
 * and carriage return) and no unpaired surrogate; `what` names the field in the error, e.g.
 * `"title"`. Length and blankness are the caller's to check.
 */
export function checkCharacters(text: string, what: string, multiLine = false): Validated<string> {
  const found = forbiddenCharacter(text, multiLine);
  if (found === undefined) return { ok: true, value: text };
  if (found.startsWith('half')) return { ok: false, error: `${what} contains ${found}; send well-formed text (cut it between characters, not inside one).` };
  const rule = multiLine ? 'only tab and line breaks are allowed' : 'it must be one line of text without control characters';
  return { ok: false, error: `${what} contains ${found}; ${rule}.` };
}

/**
 * Makes `text` fit for a one-line field instead of refusing it (for names that come from a signed
 * token or a visitor's form): each run of control characters becomes one space, half a surrogate
 * pair becomes U+FFFD, and the ends are trimmed. Never makes a text longer.
 */
export function cleanLine(text: string): string {
  return text.replace(/\p{Cc}+/gu, ' ').replace(/\p{Cs}/gu, '\ufffd').trim();
}

/**
 * A visitor's display name from a pre-chat form, as every backend keeps it: cleaned as
 * {@link cleanLine} does, cut to 100 code units (never inside a surrogate pair), and "Visitor" when
 * nothing is left.
 */
export function visitorName(name: string | undefined): string {
  let text = cleanLine(name ?? '');
  if (text.length > 100) text = text.slice(0, /[\ud800-\udbff]/.test(text[99]!) ? 99 : 100).trimEnd();
  return text || 'Visitor';
}
