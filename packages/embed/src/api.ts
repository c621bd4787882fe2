/**
 * The composition root of the script-tag bundle: `installPerch()` defines the tags, gives the
 * client to every Perch element on the page, reads the script tag's `data-*` settings, replays
 * the calls the page queued before the script arrived, and answers `Perch(command, …)`.
 *
 * Order matters in `installPerch`: the double-load check comes before anything else (a second
 * copy must not touch the page), the client provider before the tags are defined (so elements
 * upgraded by `define` find it), the queue before autoboot (queued `on` handlers see `ready`).
 */
import type { ConnectionStatus, Message, PerchClient } from '@perch/core';
import { PerchError } from '@perch/core';
import { isRecord } from '@perch/protocol';
// The same modules @perch/elements takes msg and str from (msg is a live binding the locale switch replaces).
import { msg } from '@lit/localize/init/install.js';
import { str } from '@lit/localize/internal/str-tag.js';
import { css, html } from 'lit';
import { ifDefined } from 'lit/directives/if-defined.js';
import {
  define,
  PerchElement,
  StoreController,
  PerchBuddyList,
  PerchChatPane,
  PerchFeed,
  PerchProfileCard,
  PerchProvider,
  PerchStatusBox,
  provideClient,
} from '@perch/elements';
import { PERCH_LOCALES, switchPerchLocale, type PerchLocale } from '@perch/elements/locale-switch';
import type { ChatTarget, chatWindowsClass, PerchChatWindows } from './chat-windows.js';
import { checkOptions, ConfigError, readScriptTag, show, type EmbedOptions } from './config.js';
import { loadPerchScript } from './scripts.js';
import { authOf, clientFor, forgetDevice, lastUser, Session, type SessionEvents, type Unread } from './session.js';

import { VERSION } from './version.js';

export { VERSION };

/** The events a page can listen to with `Perch('on', name, callback)`. */
export interface PerchEvents {
  /** Signed in and caught up, once per boot. Called at once if that already happened. */
  ready: (user: { id: string; name: string }) => void;
  /** The connection status changed. Called at once with the current status. */
  status: (status: ConnectionStatus) => void;
  /** A message arrived from someone else (or from this user on another device). */
  message: (message: Message) => void;
  /** Unread chat messages + unseen mentions. Called at once with the current count. */
  unread: (total: number, detail: Unread) => void;
  /** Something failed that the page may want to show (e.g. the token URL refused the visitor). */
  error: (error: PerchError) => void;
}
export type PerchEventName = keyof PerchEvents;

/** The `Perch()` function: a command queue before the script loads, this API after. */
export interface PerchApi {
  (command: 'boot', options?: EmbedOptions): Promise<boolean>;
  (command: 'identify', options: Pick<EmbedOptions, 'token' | 'tokenUrl' | 'visitor' | 'user'>): Promise<boolean>;
  (command: 'shutdown', options?: { forget?: boolean }): Promise<void>;
  (command: 'update', options: Pick<EmbedOptions, 'theme' | 'locale'>): Promise<void>;
  (command: 'open', target: string | ChatTarget): void;
  (command: 'close', target?: string | ChatTarget): void;
  (command: 'read', what: 'mentions'): void;
  <E extends PerchEventName>(command: 'on' | 'off', event: E, callback: PerchEvents[E]): void;
  /** The bundle's version. */
  readonly version: string;
  /** The client of the running session (for everything the commands don't cover; see docs/api.md). */
  readonly client: PerchClient | undefined;
  /** The current unread count. */
  readonly unread: Unread;
}

/** A stub made by the page's snippet before the script loaded: `Perch.q` holds the queued calls. */
interface PerchStub {
  (...args: unknown[]): void;
  q?: unknown[][];
}

const TAGS: ReadonlyArray<[string, CustomElementConstructor]> = [
  ['perch-provider', PerchProvider],
  ['perch-profile-card', PerchProfileCard],
  ['perch-status-box', PerchStatusBox],
  ['perch-buddy-list', PerchBuddyList],
  ['perch-chat-pane', PerchChatPane],
  ['perch-feed', PerchFeed],
];
const ALL_TAGS = TAGS.map(([tag]) => tag).join(',');
const EVENTS: readonly PerchEventName[] = ['ready', 'status', 'message', 'unread', 'error'];
const OFFLINE: ConnectionStatus = { state: 'offline', attempt: 0, leader: false };
const NO_UNREAD: Unread = { total: 0, chats: 0, mentions: 0 };

/** The page's `<html lang>` mapped onto a locale Perch ships, else English. */
function pageLocale(lang: string): PerchLocale {
  const tag = lang.toLowerCase();
  if (tag === 'zh' || tag.startsWith('zh-hans') || tag === 'zh-cn' || tag === 'zh-sg') return 'zh-Hans';
  if (tag === 'ar' || tag.startsWith('ar-')) return 'ar';
  return 'en';
}

/** What `installPerch` builds on; tests inject their own. */
export interface EmbedParts {
  /** Creates the client of a session. Default: the WebSocket backend to `options.server`. */
  makeClient: typeof clientFor;
  /** Gives the chat windows' class factory. Default: loads perch.windows.js beside perch.js. */
  loadWindows: () => Promise<typeof chatWindowsClass>;
}

/** `options` without credentials and the user they belong to. */
const withoutCredentials = ({ token: _t, tokenUrl: _u, visitor: _v, user: _w, ...rest }: EmbedOptions | Record<string, unknown>) => rest;
/** True when `options` name credentials. */
const hasCredentials = (options: Record<string, unknown>) => options.token !== undefined || options.tokenUrl !== undefined || options.visitor !== undefined;

/** Where an element of the page is the target of `open`. */
const TARGET = 'perch-chat-pane[data-perch-target]';

/**
 * Installs Perch on `win`: `win.Perch` becomes the API. Returns it, or undefined when Perch (or
 * something else called Perch) is already there — then it warns and leaves the page alone.
 */
export function installPerch(win: Window & { Perch?: unknown }, script: HTMLScriptElement | null, inject: Partial<EmbedParts> = {}): PerchApi | undefined {
  const makeClient = inject.makeClient ?? clientFor;
  const doc = win.document;
  const existing = win.Perch as (PerchStub & { version?: string }) | undefined;
  if (existing !== undefined && (typeof existing !== 'function' || existing.version !== undefined)) {
    console.warn(
      typeof existing === 'function'
        ? `Perch ${existing.version} is already running on this page; this copy (${VERSION}) does nothing. Load perch.js once.`
        : `Perch: window.Perch is already used by this page for something else, so Perch does not start.`,
    );
    return undefined;
  }
  const queue = existing?.q ?? [];

  // Every Perch element on the page, wherever it sits, gets the session's client from <html>.
  let session: Session | undefined;
  const clientChanged = provideClient(doc.documentElement, () => session?.client);
  for (const [tag, ctor] of TAGS) define(tag, ctor);

  const { raw: scriptRaw, autoboot } = readScriptTag(script);
  const scriptBase = script?.src || win.location.href;
  const scriptOrigin = new URL(scriptBase, win.location.href).origin;
  const loadWindows = inject.loadWindows ?? (() => loadPerchScript<typeof chatWindowsClass>('windows', scriptBase));
  const listeners = new Map<PerchEventName, Set<(...args: never[]) => void>>();
  let options: EmbedOptions | undefined;
  let bootAsked = false;
  let status = OFFLINE;
  let unread = NO_UNREAD;
  let ready: { id: string; name: string } | undefined;
  let windows: PerchChatWindows | undefined;
  let windowsReady: Promise<void> | undefined;

  /** Calls the page's callback; its error is the page's, reported without breaking Perch. */
  const call = (callback: (...args: never[]) => void, args: unknown[]) => {
    try {
      (callback as (...a: unknown[]) => void)(...args);
    } catch (error) {
      if (typeof win.reportError === 'function') win.reportError(error);
      else console.error(error);
    }
  };
  const fire = <E extends PerchEventName>(event: E, ...args: Parameters<PerchEvents[E]>) => {
    for (const callback of [...(listeners.get(event) ?? [])]) call(callback, args);
  };
  const emit = <E extends keyof SessionEvents>(event: E, ...args: Parameters<SessionEvents[E]>) => {
    if (event === 'unread') {
      unread = args[0] as Unread;
      fire('unread', unread.total, unread);
      if (unread.mentions > 0) mentionsInView();
    } else {
      if (event === 'status') status = args[0] as ConnectionStatus;
      if (event === 'ready') {
        ready = args[0] as { id: string; name: string };
        if (options?.server) lastUser.set(options.server, ready.id);
      }
      (fire as (e: string, ...a: unknown[]) => void)(event, ...args);
    }
  };

  /** A visible `<perch-feed source="mentions">` means the user is looking at their mentions. */
  const mentionsInView = () => {
    const feed = doc.querySelector('perch-feed[source="mentions"]');
    if (doc.visibilityState === 'visible' && feed && (feed.checkVisibility?.() ?? true)) session?.markMentionsRead();
  };
  doc.addEventListener('visibilitychange', mentionsInView);

  /**
   * `theme`: one page-level rule for every Perch element (also those added later) that has no
   * `theme` of its own. From outside the shadow root it outranks the elements' own default.
   */
  let themeSheet: CSSStyleSheet | undefined;
  const applyTheme = (theme: EmbedOptions['theme']) => {
    const pinned = theme === 'light' || theme === 'dark';
    if (!themeSheet && !pinned) return;
    if (!themeSheet) doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, (themeSheet = new CSSStyleSheet())];
    themeSheet.replaceSync(pinned ? `:is(${ALL_TAGS}):not([theme]){color-scheme:${theme}}` : '');
  };

  const applyLocale = async (locale: string | undefined) => {
    let wanted = locale ?? pageLocale(doc.documentElement.lang);
    if (!(PERCH_LOCALES as readonly string[]).includes(wanted)) {
      console.warn(`Perch: there is no "${wanted}" translation; the languages are ${PERCH_LOCALES.join(', ')}. Using English.`);
      wanted = 'en';
    }
    // Translations are separate files next to perch.js, loaded only when asked for.
    await switchPerchLocale(wanted as PerchLocale, (l) => loadPerchScript(l, scriptBase)).catch((error: Error) => console.warn(`Perch: ${error.message}`));
  };

  const stop = async () => {
    const running = session;
    session = undefined;
    ready = undefined;
    clientChanged();
    windows?.close();
    if (running) await running.stop();
    emit('status', OFFLINE);
    emit('unread', NO_UNREAD);
  };

  const boot = async (input: unknown): Promise<boolean> => {
    bootAsked = true;
    let next: EmbedOptions;
    try {
      if (input !== undefined && !isRecord(input)) {
        throw new ConfigError(`the options must be an object like { tokenUrl: '/perch-token' }; got ${show(input)}.`);
      }
      const given = input ?? {};
      // The tag's data-* settings under `input`; credentials given in `input` replace the tag's (and its user).
      next = checkOptions({ ...(hasCredentials(given) ? withoutCredentials(scriptRaw) : scriptRaw), ...given }, win.location.href, scriptOrigin);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      console.error(`Perch('boot'): ${error.message}`);
      return false;
    }
    if (session) await stop();
    options = next;
    applyTheme(next.theme);
    await applyLocale(next.locale);
    const server = next.server!;
    let credentials: Awaited<ReturnType<typeof authOf>>;
    try {
      credentials = await authOf({ ...next, server });
    } catch (error) {
      const e = error as PerchError;
      console.error(`Perch: signed out (${e.code}): ${e.message}`);
      emit('status', { ...OFFLINE, error: { code: e.code, message: e.message } });
      emit('error', e);
      return false;
    }
    if (!credentials) return false; // booted without a user: Perch('identify', …) signs one in
    if (options !== next) return false; // another boot or shutdown came first
    session = new Session(makeClient({ ...next, server }, credentials.auth, credentials.user), emit);
    clientChanged();
    const started = session;
    const signedIn = new Promise<boolean>((resolve) => {
      const offReady = on('ready', () => done(true));
      const offError = on('error', (e) => e.code === 'unauthorized' || e.code === 'forbidden' ? done(false) : undefined);
      const offStatus = on('status', (s) => (s.state === 'offline' && session !== started ? done(false) : undefined));
      function done(value: boolean) {
        offReady();
        offError();
        offStatus();
        resolve(value);
      }
    });
    started.start();
    return signedIn;
  };

  const on = <E extends PerchEventName>(event: E, callback: PerchEvents[E]): (() => void) => {
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(callback);
    return () => set.delete(callback);
  };

  const targetOf = (command: string, target: unknown): ChatTarget | undefined => {
    if (typeof target === 'string' && target !== '') return { with: target };
    if (target && typeof target === 'object') {
      const t = target as Record<string, unknown>;
      if (typeof t.with === 'string' && t.with !== '') return { with: t.with };
      if (typeof t.conversation === 'string' && t.conversation !== '') return { conversation: t.conversation };
    }
    console.error(`Perch('${command}'): give a user id, { with: userId } or { conversation: id }; got ${show(target)}.`);
    return undefined;
  };

  const open = (target: ChatTarget) => {
    const pane = doc.querySelector<HTMLElement>(TARGET);
    if (pane) {
      for (const name of ['with', 'conversation'] as const) {
        const value = (target as Record<string, string>)[name];
        if (value === undefined) pane.removeAttribute(name);
        else pane.setAttribute(name, value);
      }
      pane.focus();
      return;
    }
    if (options?.windows === false) return;
    // The windows load on first use (perch.windows.js), with this bundle's Lit and base element.
    windowsReady ??= loadWindows().then((factory) => {
      const runtime = { msg: ((...args: Parameters<typeof msg>) => msg(...args)) as typeof msg, str, css, html, ifDefined, PerchElement, StoreController };
      define('perch-chat-windows', factory(runtime));
    });
    windowsReady
      .then(() => {
        windows ??= doc.createElement('perch-chat-windows') as PerchChatWindows;
        if (!windows.isConnected) (doc.body ?? doc.documentElement).append(windows);
        windows.open(target);
      })
      .catch((error: Error) => {
        windowsReady = undefined;
        console.error(`Perch: could not open a chat window: ${error.message}`);
      });
  };

  // A buddy list or profile card asked to open a chat and the page did not cancel it: open it.
  win.addEventListener('perch-open-chat', (event) => {
    const userId = (event as HTMLElementEventMap['perch-open-chat']).detail.userId;
    // Listeners added after ours (on window) run later in this dispatch: decide once it is over.
    queueMicrotask(() => {
      if (!event.defaultPrevented) open({ with: userId });
    });
  });

  /** What each `Perch(command, …)` does, by name (in the order the console names them). */
  const commands: Record<string, (...args: unknown[]) => unknown> = {
    boot,
    identify(input) {
      if (!input || typeof input !== 'object') {
        console.error(`Perch('identify'): give { token }, { tokenUrl } or { visitor }; got ${show(input)}.`);
        return Promise.resolve(false);
      }
      return boot({ ...withoutCredentials(options ?? {}), ...input });
    },
    shutdown(how) {
      // { forget: true } on a shared device: also delete the cache, outbox and marks kept here.
      const forget = (how as { forget?: unknown } | undefined)?.forget === true;
      const server = options?.server;
      const user = ready?.id ?? session?.client.user.get()?.id;
      options = undefined;
      return stop().then(() => (forget && server && user ? forgetDevice(server, user) : undefined));
    },
    update(changes) {
      const input = (changes ?? {}) as Record<string, unknown>;
      const extra = Object.keys(input).filter((k) => k !== 'theme' && k !== 'locale');
      if (extra.length) console.error(`Perch('update'): only theme and locale can change while running; to switch the user call Perch('identify', …).`);
      try {
        const checked = checkOptions({ theme: input.theme, locale: input.locale }, win.location.href, scriptOrigin);
        if (input.theme !== undefined) {
          if (options) options.theme = checked.theme!;
          applyTheme(checked.theme);
        }
        return input.locale !== undefined ? applyLocale(checked.locale) : Promise.resolve();
      } catch (error) {
        console.error(`Perch('update'): ${(error as Error).message}`);
        return Promise.resolve();
      }
    },
    open(to) {
      const target = targetOf('open', to);
      if (target) open(target);
    },
    close(to) {
      const target = to === undefined ? undefined : targetOf('close', to);
      if (to === undefined || target) windows?.close(target);
    },
    read(what) {
      if (what === 'mentions') session?.markMentionsRead();
      else console.error(`Perch('read'): the only thing to mark read is 'mentions' (chats are marked read when seen).`);
    },
    on: (event, callback) => listen('on', event, callback),
    off: (event, callback) => listen('off', event, callback),
  };

  /** `Perch('on' | 'off', event, callback)`. */
  const listen = (command: string, event: unknown, callback: unknown) => {
    if (!EVENTS.includes(event as PerchEventName) || typeof callback !== 'function') {
      console.error(`Perch('${command}'): give an event (${EVENTS.join(', ')}) and a function; got ${show(event)}.`);
      return;
    }
    const name = event as PerchEventName;
    if (command === 'off') {
      listeners.get(name)?.delete(callback as () => void);
      return;
    }
    on(name, callback as PerchEvents[typeof name]);
    // Sticky events: the page learns the current state at once.
    if (name === 'status') call(callback as () => void, [status]);
    else if (name === 'unread') call(callback as () => void, [unread.total, unread]);
    else if (name === 'ready' && ready) call(callback as () => void, [ready]);
  };

  const api = function Perch(command: unknown, ...args: unknown[]): unknown {
    if (typeof command === 'string' && Object.hasOwn(commands, command)) return commands[command]!(...args);
    console.error(`Perch: unknown command ${show(command)}; the commands are ${Object.keys(commands).join(', ')}.`);
    return undefined;
  } as PerchApi;
  Object.defineProperties(api, {
    version: { value: VERSION, enumerable: true },
    client: { get: () => session?.client, enumerable: true },
    unread: { get: () => unread, enumerable: true },
  });
  win.Perch = api;

  for (const args of queue) api(...(args as [never]));
  if (!bootAsked && (autoboot ?? hasCredentials(scriptRaw))) void api('boot');
  return api;
}
