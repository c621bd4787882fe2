/**
 * The embed's configuration: what `Perch('boot', {...})` takes, and how the script tag's `data-*`
 * attributes map onto it. Every value is checked here, once, and a wrong one is named in a clear
 * message instead of failing later inside the client.
 */

/** What a page can configure. Every field has a `data-*` twin on the script tag (see docs/embedding.md). */
export interface EmbedOptions {
  /** The Perch server's WebSocket address. Default: the script's own origin (`wss://host/`). */
  server?: string;
  /** A signed token for the user (short-lived JWT from the site's backend). */
  token?: string;
  /**
   * A URL on the site's backend that answers a signed-in visitor with `{ "token": "…" }` (or the
   * token as plain text). Fetched with the page's cookies before every connection attempt, so a
   * short-lived token is always fresh.
   */
  tokenUrl?: string;
  /** A visitor without an account (support chat): an optional name and email. */
  visitor?: { name?: string; email?: string };
  /** The user's id when known in advance; keeps two users of one browser from sharing a cache. */
  user?: string;
  /** `light`, `dark`, or `auto` (follow the system; the default). */
  theme?: 'light' | 'dark' | 'auto';
  /** `en`, `zh-Hans` or `ar`. Default: the page's `<html lang>` when Perch speaks it, else English. */
  locale?: string;
  /** `persistent` (IndexedDB cache and outbox; default) or `memory` (nothing written to the device). */
  storage?: 'persistent' | 'memory';
  /**
   * When a chat is opened (`Perch('open', id)` or a click in a buddy list) and the page has no
   * `<perch-chat-pane data-perch-target>`, Perch opens it in a small window at the page's corner.
   * `false` turns those windows off. Default `true`.
   */
  windows?: boolean;
}

/** The script tag's own settings on top of {@link EmbedOptions}. */
export interface ScriptConfig {
  options: EmbedOptions;
  /** Boot at once (default when the tag names credentials), or wait for `Perch('boot')`. */
  autoboot: boolean;
}

const THEMES = ['light', 'dark', 'auto'] as const;
const STORAGE = ['persistent', 'memory'] as const;

/** A configuration mistake, reported to the page's console with what to do. */
export class ConfigError extends Error {
  override name = 'PerchConfigError';
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${field} must be one of ${allowed.map((a) => `"${a}"`).join(', ')}; got ${JSON.stringify(value)}.`);
}

function text(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  throw new ConfigError(`${field} must be a non-empty string; got ${JSON.stringify(value)}.`);
}

/** Sets `target[key]` to a checked value, leaving the key out when there is none. */
function put<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

/** Resolves `url` against the page and checks its scheme. */
function address(field: string, url: string, schemes: readonly string[], base: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url, base);
  } catch {
    throw new ConfigError(`${field} "${url}" is not a URL.`);
  }
  if (!schemes.includes(parsed.protocol)) {
    throw new ConfigError(`${field} must start with ${schemes.map((s) => `${s}//`).join(' or ')}; got "${url}".`);
  }
  return parsed.href;
}

/**
 * Checks options given by the page (from `Perch('boot', …)` or the script tag) and fills in the
 * server address. `base` is the page's URL; `scriptOrigin` the origin the script came from.
 */
export function checkOptions(input: unknown, base: string, scriptOrigin: string): EmbedOptions {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new ConfigError(`the options must be an object; got ${JSON.stringify(input)}.`);
  const raw = input as Record<string, unknown>;
  const known = new Set(['server', 'token', 'tokenUrl', 'visitor', 'user', 'theme', 'locale', 'storage', 'windows']);
  const unknown = Object.keys(raw).filter((key) => !known.has(key));
  if (unknown.length) throw new ConfigError(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; the options are ${[...known].join(', ')}.`);

  const options: EmbedOptions = {};
  const server = text('server', raw.server) ?? scriptOrigin.replace(/^http/, 'ws') + '/';
  options.server = address('server', server, ['ws:', 'wss:'], base.replace(/^http/, 'ws'));
  put(options, 'token', text('token', raw.token));
  const tokenUrl = text('tokenUrl', raw.tokenUrl);
  if (tokenUrl !== undefined) options.tokenUrl = address('tokenUrl', tokenUrl, ['http:', 'https:'], base);
  if (raw.visitor !== undefined) {
    const visitor = raw.visitor;
    if (typeof visitor !== 'object' || visitor === null) throw new ConfigError('visitor must be an object like { name: "Ada" }.');
    const { name, email } = visitor as Record<string, unknown>;
    options.visitor = {};
    put(options.visitor, 'name', text('visitor.name', name));
    put(options.visitor, 'email', text('visitor.email', email));
  }
  put(options, 'user', text('user', raw.user));
  put(options, 'theme', oneOf('theme', raw.theme, THEMES));
  put(options, 'locale', text('locale', raw.locale));
  put(options, 'storage', oneOf('storage', raw.storage, STORAGE));
  if (raw.windows !== undefined) {
    if (typeof raw.windows !== 'boolean') throw new ConfigError(`windows must be true or false; got ${JSON.stringify(raw.windows)}.`);
    options.windows = raw.windows;
  }
  return options;
}

/**
 * Reads the script tag's `data-*` attributes: `data-server`, `data-token`, `data-token-url`,
 * `data-visitor-name`, `data-visitor-email`, `data-user`, `data-theme`, `data-locale`,
 * `data-storage`, `data-windows="false"` and `data-autoboot="false"`. Other `data-*` names are
 * left alone (the page may use its own).
 */
export function readScriptTag(script: HTMLScriptElement | null): { raw: Record<string, unknown>; autoboot?: boolean } {
  const raw: Record<string, unknown> = {};
  let autoboot: boolean | undefined;
  if (!script) return { raw };
  // `dataset` names them in camel case: `data-token-url` → `tokenUrl`.
  for (const [key, value] of Object.entries(script.dataset)) {
    if (key === 'autoboot') autoboot = value !== 'false';
    else if (key === 'windows') raw.windows = value !== 'false';
    else if (key === 'visitorName' || key === 'visitorEmail') {
      const visitor = (raw.visitor ??= {}) as Record<string, unknown>;
      visitor[key === 'visitorName' ? 'name' : 'email'] = value;
    } else if (['server', 'token', 'tokenUrl', 'user', 'theme', 'locale', 'storage'].includes(key)) raw[key] = value;
  }
  return autoboot === undefined ? { raw } : { raw, autoboot };
}
