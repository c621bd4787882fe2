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

/** `value` as JSON for a message, or its type when JSON cannot show it (a cycle, a BigInt): a wrong value never makes Perch throw. */
export function show(value: unknown): string {
  try {
    return String(JSON.stringify(value));
  } catch {
    return typeof value;
  }
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${field} must be one of ${allowed.map((a) => `"${a}"`).join(', ')}; got ${show(value)}.`);
}

function text(field: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  throw new ConfigError(`${field} must be a non-empty string; got ${show(value)}.`);
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
  if (typeof input !== 'object' || Array.isArray(input)) throw new ConfigError(`the options must be an object; got ${show(input)}.`);
  const raw = input as Record<string, unknown>;
  // How each option is checked, in the order they are checked (and listed in messages).
  const checks: { [K in keyof EmbedOptions]-?: (field: string, value: unknown) => EmbedOptions[K] } = {
    server: (field, value) => address(field, text(field, value) ?? scriptOrigin.replace(/^http/, 'ws') + '/', ['ws:', 'wss:'], base.replace(/^http/, 'ws')),
    token: text,
    tokenUrl: (field, value) => {
      const url = text(field, value);
      return url === undefined ? undefined : address(field, url, ['http:', 'https:'], base);
    },
    visitor: (field, value) => {
      if (value === undefined) return undefined;
      if (typeof value !== 'object' || value === null) throw new ConfigError('visitor must be an object like { name: "Ada" }.');
      const { name, email } = value as Record<string, unknown>;
      const visitor: EmbedOptions['visitor'] = {};
      put(visitor, 'name', text('visitor.name', name));
      put(visitor, 'email', text('visitor.email', email));
      return visitor;
    },
    user: text,
    theme: (field, value) => oneOf(field, value, THEMES),
    locale: text,
    storage: (field, value) => oneOf(field, value, STORAGE),
    windows: (field, value) => {
      if (value === undefined || typeof value === 'boolean') return value;
      throw new ConfigError(`${field} must be true or false; got ${show(value)}.`);
    },
  };
  const unknown = Object.keys(raw).filter((key) => !Object.hasOwn(checks, key));
  if (unknown.length) throw new ConfigError(`unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}; the options are ${Object.keys(checks).join(', ')}.`);

  const options: Record<string, unknown> = {};
  for (const [name, check] of Object.entries(checks)) put(options, name, check(name, raw[name]));
  return options as EmbedOptions;
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
