/**
 * True when `text` mentions `@<handle>` with the handle not running on into further letters or
 * digits (so `@bob` does not match `@bobby`). Case-insensitive. One rule for every party — the
 * server's `mentions` feed, the in-memory hub and the embed's unread count — so they agree.
 */
export function mentions(text: string, handle: string): boolean {
  if (handle === '') return false;
  const haystack = text.toLowerCase();
  const needle = `@${handle.toLowerCase()}`;
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + 1)) {
    const next = haystack.charAt(at + needle.length);
    if (next === '' || !/[\p{L}\p{N}_]/u.test(next)) return true;
  }
  return false;
}
