import { createNanoEvents } from 'nanoevents';
import type { Contact, Conversation, Id, Message, Post, Presence, User } from '@perch/protocol';
import { isId, timeOrderedId } from '@perch/protocol';
import { PerchError, type AuthSource, type Backend, type BackendCapabilities, type BackendConnection } from './backend.js';
import type { BackoffOptions } from './backoff.js';
import type { CacheStore } from './cache/cache-store.js';
import { openIdbStore } from './cache/idb-store.js';
import { keys } from './cache/keys.js';
import { memoryStore } from './cache/memory-store.js';
import { migrate } from './cache/migrations.js';
import { toWrites, type Change, type ConversationRecord, type OutboxEntry } from './changes.js';
import { CONNECT_WAIT, Connector, type ConnectionStatus } from './connection.js';
import type { CoreContext } from './context.js';
import type { ClientEvents, StorageInfo } from './events.js';
import { browserTabs, canShareTabs, type TabCoordinator, type TabMessage } from './leader-election.js';
import { Outbox } from './outbox.js';
import { Resume } from './resume.js';
import { atom, type ReadableStore, type WritableStore } from './store.js';
import { entryToMessage, entryToPost, View, type ConversationView, type RosterEntry, type Touched } from './view.js';
import { checkedText, FORWARDED, LeaderCommands, type CommandName } from './commands.js';

/** Options for {@link createClient}. */
export interface ClientOptions {
  /** The backend, e.g. `memoryBackend({ hub })` or `websocketBackend({ url })`. */
  backend: Backend;
  /** Credentials, or a function that fetches fresh ones before each connection attempt. */
  auth: AuthSource;
  /**
   * `persistent` (default) keeps an offline cache and outbox in IndexedDB, falling back to memory
   * when IndexedDB fails; `memory` writes nothing to the device (e.g. before the user consents).
   */
  storage?: 'persistent' | 'memory';
  /** The user's id if known before connecting; names the cache so two users never share one. */
  user?: Id;
  /** `shared` (default in browsers) keeps one connection for all tabs; `single` connects from each tab. */
  tabs?: 'shared' | 'single';
  /** Reconnect backoff. */
  reconnect?: BackoffOptions;
  /** Opens the persistent cache (tests inject failures here). */
  openCache?: (name: string) => Promise<CacheStore>;
  /** Coordinates tabs (tests inject one; browsers use Web Locks + BroadcastChannel). */
  tabCoordinator?: TabCoordinator;
}

/** A conversation's messages, with a promise that settles once the cached ones are loaded. */
export interface MessageStore extends ReadableStore<Message[]> {
  readonly loaded: Promise<void>;
}

const TYPING_TTL = 6_000;
/**
 * How long a follower tab waits for the leader tab's answer: the leader's wait for its connection
 * (`CONNECT_WAIT`) plus the 15 s a command gets on an open one (backend-ws's request timeout).
 */
const CALL_TIMEOUT = CONNECT_WAIT + 15_000;

/** Creates a client. Nothing touches the network until `connect()`; the cache starts loading at once. */
export function createClient(options: ClientOptions): PerchClient {
  return new PerchClient(options);
}

/** The leader tab's answer to a forwarded call. */
type Reply = Pick<Extract<TabMessage, { t: 'reply' }>, 'value' | 'error'>;

/** What a connection command resolves to. */
type Result<N extends CommandName> = Awaited<ReturnType<LeaderCommands[N]>>;

/** The connection commands, offered unchanged as methods of the client (see {@link LeaderCommands}). */
type ForwardedCommands = Pick<LeaderCommands, (typeof FORWARDED)[number]>;

// eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unsafe-declaration-merging
export interface PerchClient extends ForwardedCommands {}

/** The headless Perch client. See docs/api.md. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class PerchClient {
  static {
    // Each forwarded command runs here when this tab holds the connection, or in the tab that does.
    for (const name of FORWARDED) {
      (PerchClient.prototype as unknown as Record<string, unknown>)[name] = function (this: PerchClient, ...args: Parameters<LeaderCommands[typeof name]>) {
        return this.#command(name, ...args);
      };
    }
  }

  /** What the backend can do. */
  readonly capabilities: BackendCapabilities;
  /** Resolves once the cache is open and its content is in the stores. */
  readonly ready: Promise<void>;
  readonly status: ReadableStore<ConnectionStatus>;
  readonly user: ReadableStore<User | undefined>;
  readonly roster: ReadableStore<RosterEntry[]>;
  readonly conversations: ReadableStore<ConversationView[]>;
  readonly timeline: ReadableStore<Post[]>;
  readonly unread: ReadableStore<number>;
  /** Where the cache lives now. */
  storage: StorageInfo;

  #view = new View();
  readonly #records = new Map<Id, ConversationRecord>();
  readonly #queue = new Map<string, OutboxEntry>();
  readonly #emitter = createNanoEvents<ClientEvents>();
  readonly #connector: Connector;
  readonly #resume: Resume;
  readonly #outbox: Outbox;
  readonly #commands: LeaderCommands;
  readonly #messageStores = new Map<Id, WritableStore<Message[]> & { loaded: Promise<void> }>();
  readonly #typingStores = new Map<Id, WritableStore<Id[]>>();
  readonly #typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Calls waiting for the leader tab, by id: each settles with the leader's reply, or starts again without one. */
  readonly #calls = new Map<string, (reply?: Reply) => void>();
  #cache: CacheStore = memoryStore();
  /** The next cache write, collecting the commits made while the writes before it run. */
  #batch: { changes: Change[]; written: Promise<void> } | undefined;
  /** The last queued step: cache writes, reloads and tab messages run one at a time, in order. */
  #tail = Promise.resolve();
  #steps = 0;
  #lastOrder = 0;
  #tabs: TabCoordinator | undefined;
  #leader?: boolean;
  #started?: boolean;
  /**
   * What disconnect() undoes. disconnect() starts a new session (a new array), so a connect() call
   * belongs to the session it was made in, and resolves when that session ends.
   */
  #session: Array<() => void> = [];

  readonly #options: ClientOptions;

  constructor(options: ClientOptions) {
    // Public fields get their values here rather than where they are declared: an initialized
    // public field (with useDefineForClassFields off) would move every private initializer into
    // the constructor too, which costs bytes in the bundles.
    this.user = atom<User | undefined>(undefined);
    this.roster = atom<RosterEntry[]>([]);
    this.conversations = atom<ConversationView[]>([]);
    this.timeline = atom<Post[]>([]);
    this.unread = atom(0);
    this.storage = { mode: 'memory' };
    this.#options = options;
    this.capabilities = options.backend.capabilities;
    const context: CoreContext = {
      capabilities: this.capabilities,
      view: () => this.#view,
      records: this.#records,
      queue: this.#queue,
      me: () => this.#view.user?.id ?? this.#options.user,
      connection: () => this.#connector.connection,
      commit: (changes) => this.#commit(changes),
      emit: (event, ...args) => this.#emit(event, ...args),
    };
    this.#resume = new Resume(context);
    this.#outbox = new Outbox(context, this.#resume);
    this.#connector = new Connector(options, {
      listener: {
        message: (m) => this.#resume.receive(m),
        conversation: (c) => this.#resume.conversation(c),
        receipt: (e) => this.#resume.receipt(e),
        post: (p) => this.#outbox.published(p),
        presence: (p) => this.#commit([{ type: 'presence', presence: p }]).then(() => this.#emit('presence', p)),
        contact: (contact, removed) => this.#commit([{ type: 'contact', contact, removed }]),
        typing: (e) => this.#emit('typing', e),
      },
      opened: (connection) => this.#opened(connection),
    });
    this.#commands = new LeaderCommands(context, this.#resume, this.#connector);
    this.status = this.#connector.status;
    this.status.subscribe((status) => {
      if (this.#leader) this.#tabs?.send({ t: 'status', status });
      this.#emitter.emit('status', status);
    });
    this.on('typing', (e) => this.#typingEvent(e.conversationId, e.userId, e.on));
    // Each tab has its own unread count (no other tab hears this one's event).
    this.unread.subscribe((total) => this.#emitter.emit('unread', total));
    // Commits made before the cache is open wait for it, and come after what it holds.
    void this.#step(() => this.#open());
    this.ready = this.#reload();
  }

  /** Subscribes to an event; returns the function that unsubscribes. */
  on<E extends keyof ClientEvents>(event: E, callback: ClientEvents[E]): () => void {
    return this.#emitter.on(event, callback);
  }

  /**
   * Starts connecting (and reconnecting with backoff). Resolves once online and caught up, or
   * when `disconnect()` stops it first; rejects when the server refuses the credentials for good.
   * Cached state is usable before.
   */
  async connect(): Promise<void> {
    const session = this.#session;
    await this.ready;
    if (!this.#started && session === this.#session) {
      this.#started = true;
      const online = () => this.#connector.retryNow();
      globalThis.addEventListener?.('online', online);
      this.#session.push(() => globalThis.removeEventListener?.('online', online));
      const shared = (this.#options.tabs ?? 'shared') === 'shared' && this.storage.mode === 'persistent';
      const tabs = shared && (this.#options.tabCoordinator ?? (canShareTabs() && browserTabs(this.#cacheName())));
      if (tabs) {
        this.#tabs = tabs;
        // Tab messages wait for the reload below, which reads what the other tabs wrote before.
        this.#session.push(
          tabs.listen((m) =>
            this.#step(() => {
              if (this.#tabs === tabs) this.#onTab(m); // not after disconnect()
            }),
          ),
        );
        this.#connector.transition({ leader: false });
        tabs.send({ t: 'hello' });
        this.#emitter.emit('leader', false);
        void this.#reload();
        tabs.elect(() => void this.#becomeLeader(session));
      } else {
        void this.#becomeLeader(session);
      }
    }
    await new Promise<void>((resolve, reject) => {
      const stop = this.status.subscribe((s) => {
        // Offline with an error: refused for good (disconnect() clears the error).
        if (s.state === 'offline' && s.error) reject(new PerchError(s.error.code, s.error.message));
        // Online only once caught up; or disconnect() ended this call's session.
        else if (s.state === 'online' || session !== this.#session) resolve();
        else return;
        queueMicrotask(() => stop());
      });
    });
  }

  /**
   * Closes the connection, gives up this tab's leadership and stops reconnecting: the status is
   * `offline` without an error, and pending `connect()` calls resolve. The cache stays.
   */
  async disconnect(): Promise<void> {
    this.#started = false;
    const session = this.#session;
    this.#session = []; // the connect() calls of the old one resolve
    this.#connector.stop(); // followers see 'offline' until one of them takes over
    this.#leader = false;
    for (const stop of session) stop();
    this.#tabs?.close();
    this.#tabs = undefined;
    for (const settle of this.#calls.values()) settle({ error: { code: 'unavailable', message: 'The client was disconnected.' } });
  }

  /** Skips the backoff wait and tries to connect now (e.g. a "Retry now" button). */
  reconnectNow(): void {
    this.#connector.retryNow();
  }

  /** A conversation's messages, cached ones first, then live. */
  messages(conversationId: Id): MessageStore {
    let store = this.#messageStores.get(conversationId);
    if (!store) {
      store = Object.assign(atom(this.#view.messageList(conversationId)), { loaded: this.ready.then(() => this.#loadWindow(conversationId)) });
      this.#messageStores.set(conversationId, store);
    }
    return store;
  }

  /**
   * The last known presence of a contact, or your own as you chose it (`invisible` included);
   * undefined when unknown. Changes come with the `roster` store's.
   */
  presence(userId: Id): Presence | undefined {
    return this.#view.presence.get(userId);
  }

  /** Who is typing in a conversation right now. */
  typing(conversationId: Id): ReadableStore<Id[]> {
    let store = this.#typingStores.get(conversationId);
    if (!store) this.#typingStores.set(conversationId, (store = atom<Id[]>([])));
    return store;
  }

  /**
   * Queues a message and returns it at once, `pending`, with its `clientId`. It is written to the
   * outbox before it shows, and delivered exactly once, in order, whenever a connection allows.
   * Throws a `bad_request` PerchError for empty or oversized text.
   */
  send(conversationId: Id, text: string): Message {
    if (!isId(conversationId)) throw new PerchError('bad_request', `"${String(conversationId)}" is not a conversation id.`);
    return entryToMessage(this.#enqueue({ kind: 'message', conversationId, text: checkedText(text, 'Message') }));
  }

  /** Queues a status post (optionally a reply) and returns it at once, `pending`. */
  post(text: string, options: { replyTo?: Id } = {}): Post {
    const entry: Omit<OutboxEntry, 'order' | 'clientId' | 'senderId' | 'createdAt' | 'state'> = { kind: 'post', text: checkedText(text, 'Post') };
    if (options.replyTo) entry.replyTo = options.replyTo;
    return entryToPost(this.#enqueue(entry));
  }

  /**
   * Creates a group conversation with the user and `memberIds`. It is idempotent on `clientId`,
   * made here once per call unless given: when the tab running it closes before answering and
   * another tab asks again, the answer is the same group, never a second one. After an
   * `unavailable` rejection (the connection dropped with the answer), calling again with the same
   * `clientId` is safe in the same way.
   */
  createGroup(title: string, memberIds: Id[], clientId = timeOrderedId()): Promise<Conversation> {
    return this.#command('createGroup', title, memberIds, clientId);
  }

  /** Sends a failed message or post again, with the same clientId. */
  retry(clientId: string): void {
    const entry = this.#queue.get(clientId);
    if (entry?.state !== 'failed') return;
    const next: OutboxEntry = { ...entry, state: 'pending' };
    delete next.error;
    void this.#put(next);
  }

  /** Removes a failed message or post from the outbox. */
  async discard(clientId: string): Promise<void> {
    const entry = this.#queue.get(clientId);
    if (entry?.state !== 'failed') return;
    this.#queue.delete(clientId);
    await this.#commit([{ type: 'unqueue', entry }]);
  }

  /** Older messages before `before` (default: the oldest loaded), from the cache, then the server. */
  async history(conversationId: Id, options: { before?: number; limit?: number } = {}): Promise<{ messages: Message[]; complete: boolean }> {
    await this.messages(conversationId).loaded;
    const limit = options.limit ?? 50;
    const shown = this.#view.messages.get(conversationId);
    const before = options.before ?? Math.min(...(shown?.keys() ?? []), Number.MAX_SAFE_INTEGER);
    const cached = await this.#newest<Message>(keys.messages(conversationId), limit, keys.message(conversationId, before));
    let messages = cached.reverse();
    const floor = this.#view.records.get(conversationId)?.floorSeq ?? 0;
    let complete = floor === 1 && messages.length < limit;
    if (messages.length < limit && floor !== 1 && this.capabilities.history) {
      // Offline, the cached part is still returned (with `complete: false`).
      const page = await this.#command('older', { conversationId, before: messages[0]?.seq ?? before, limit: limit - messages.length }).catch(
        (e: PerchError) => {
          if (e.code !== 'unavailable') throw e;
          return { messages: [], complete: false };
        },
      );
      messages = [...page.messages, ...messages];
      complete = page.complete;
    }
    // What the view holds is newer than what was read (an edit or delete may have come meanwhile).
    this.#apply([{ type: 'messages', conversationId, messages: messages.filter((m) => !shown?.has(m.seq!)) }]);
    return { messages, complete };
  }

  // ——— internals ———

  #emit<E extends keyof ClientEvents>(event: E, ...args: Parameters<ClientEvents[E]>): void {
    this.#emitter.emit(event, ...args);
    // `status` goes out as its own message; `storage`, `unread` and `leader` are each tab's own (not emitted here).
    if (this.#leader) {
      this.#tabs?.send({ t: 'emit', event, args });
    }
  }

  /**
   * Runs a connection command here when leading, or in the leader tab. Either way it waits while
   * the connection is still opening (see `Connector.open`).
   */
  async #command<N extends CommandName>(name: N, ...args: Parameters<LeaderCommands[N]>): Promise<Result<N>> {
    // Whether this tab leads is known once connect() has seen the cache open. A connect() called
    // before this command awaited `ready` first, so it has started by the time this resumes.
    await this.ready;
    if (this.#leader || !this.#tabs) return (this.#commands as unknown as Record<N, (...a: unknown[]) => Promise<Result<N>>>)[name](...args);
    const id = timeOrderedId();
    return new Promise<Result<N>>((resolve, reject) => {
      const settle = (reply?: Reply) => {
        this.#calls.delete(id);
        clearTimeout(timer);
        // No reply: a tab took over before the answer came (no tab led when it was sent, or the
        // leader closed). The call starts again, here if this tab leads now, else asked of the
        // new leader with a new timeout (that one may first wait for its connection).
        if (!reply) this.#command(name, ...args).then(resolve, reject);
        else if (reply.error) reject(new PerchError(reply.error.code, reply.error.message));
        else resolve(reply.value as Result<N>);
      };
      const timer = setTimeout(settle, CALL_TIMEOUT, { error: { code: 'timeout', message: `The tab holding the connection did not answer "${name}"; try again.` } });
      this.#calls.set(id, settle);
      this.#tabs!.send({ t: 'call', id, method: name, args });
    });
  }

  #enqueue(fields: Omit<OutboxEntry, 'order' | 'clientId' | 'senderId' | 'createdAt' | 'state'>): OutboxEntry {
    const createdAt = Date.now();
    this.#lastOrder = Math.max(createdAt * 1000, this.#lastOrder + 1);
    const entry: OutboxEntry = {
      ...fields,
      order: this.#lastOrder,
      clientId: timeOrderedId(createdAt),
      senderId: this.#view.user?.id ?? this.#options.user ?? '',
      createdAt,
      state: 'pending',
    };
    void this.#put(entry);
    return entry;
  }

  /** Writes an entry to the outbox (before it shows), then starts delivering it. */
  async #put(entry: OutboxEntry): Promise<void> {
    this.#queue.set(entry.clientId, entry);
    await this.#commit([{ type: 'outbox', entry }]);
    this.#outbox.kick();
  }

  #typingEvent(conversationId: Id, userId: Id, on: boolean): void {
    const store = this.typing(conversationId) as WritableStore<Id[]>;
    const key = `${conversationId}|${userId}`;
    clearTimeout(this.#typingTimers.get(key));
    const others = store.get().filter((id) => id !== userId);
    store.set(on ? [...others, userId] : others);
    if (on) this.#typingTimers.set(key, setTimeout(() => this.#typingEvent(conversationId, userId, false), TYPING_TTL));
  }

  /** Runs `step` after every cache write, reload and tab message queued before it (at once if none is). */
  #step(step: () => void | Promise<void>): Promise<void> {
    const run = this.#steps++ ? this.#tail.then(step) : (async () => step())();
    return (this.#tail = run.catch(() => {}).finally(() => this.#steps--));
  }

  /** Persist → apply → emit: commits made while a write runs go together into one cache transaction. */
  #commit(changes: Change[]): Promise<void> {
    if (this.#batch) {
      this.#batch.changes.push(...changes);
      return this.#batch.written;
    }
    const batch = (this.#batch = { changes } as { changes: Change[]; written: Promise<void> });
    return (batch.written = this.#step(async () => {
      if (this.#batch === batch) this.#batch = undefined;
      await this.#persist(batch.changes);
      this.#apply(batch.changes);
      // Other tabs apply what this tab persisted (a follower only ever writes outbox entries).
      this.#tabs?.send({ t: 'changes', changes: batch.changes });
    }));
  }

  async #persist(changes: Change[]): Promise<void> {
    const { puts, deletes, clears } = toWrites(changes);
    const write = async () => {
      for (const prefix of clears) await this.#cache.clear(prefix);
      await this.#cache.write(puts, deletes);
    };
    try {
      await write();
    } catch (error) {
      // Goes on in memory with what the cache holds (a full disk still reads).
      const held = await this.#cache.range('').catch(() => []);
      this.#useMemory(`Saving to IndexedDB failed (${describe(error)})`);
      await this.#cache.write(held, []);
      await write();
    }
  }

  #useMemory(why: string): void {
    this.#cache = memoryStore();
    this.storage = { mode: 'memory', reason: `${why}; Perch goes on in memory, so unsent messages will not survive a reload.` };
    this.#emitter.emit('storage', this.storage);
  }

  #apply(changes: Change[]): void {
    this.#refresh(this.#view.apply(changes));
  }

  /** Takes changes persisted elsewhere (the cache, another tab) into the head state and (if `apply`) the view. */
  #adopt(changes: Change[], apply = true): void {
    for (const c of changes) {
      if (c.type === 'conversation') this.#records.set(c.record.conversation.id, c.record);
      else if (c.type === 'outbox') {
        this.#queue.set(c.entry.clientId, c.entry);
        // Composed later here comes later in the lane, even if the clock went back since another tab (or an earlier page) composed this.
        this.#lastOrder = Math.max(this.#lastOrder, c.entry.order);
      }
      else if (c.type === 'unqueue') this.#queue.delete(c.entry.clientId);
    }
    if (apply) this.#apply(changes);
  }

  #refresh(touched: Touched): void {
    for (const id of touched.conversations) this.#messageStores.get(id)?.set(this.#view.messageList(id));
    (this.user as WritableStore<User | undefined>).set(this.#view.user);
    if (touched.list) {
      const list = this.#view.conversationList();
      (this.conversations as WritableStore<ConversationView[]>).set(list);
      (this.unread as WritableStore<number>).set(list.reduce((total, c) => total + c.unread, 0));
    }
    if (touched.roster) (this.roster as WritableStore<RosterEntry[]>).set(this.#view.roster());
    if (touched.timeline) (this.timeline as WritableStore<Post[]>).set(this.#view.timeline());
  }

  #cacheName(): string {
    return `perch:${this.#options.backend.name}:${this.#options.user ?? subject(this.#options.auth)}`;
  }

  async #open(): Promise<void> {
    if (this.#options.storage !== 'memory') {
      try {
        const cache = await (this.#options.openCache ?? openIdbStore)(this.#cacheName());
        await migrate(cache);
        this.#cache = cache;
        this.storage = { mode: 'persistent' };
        queueMicrotask(() => this.#emitter.emit('storage', this.storage));
      } catch (error) {
        this.#useMemory(`IndexedDB could not be opened (${describe(error)})`);
      }
    }
  }

  /** The cached values under `prefix` (and below `below`), last key first, at most `limit`. */
  async #newest<T>(prefix: string, limit?: number, below?: string): Promise<T[]> {
    return (await this.#cache.range<T>(prefix, { below, reverse: true, limit })).map(([, value]) => value);
  }

  /** Reads a conversation's newest cached messages into its store. */
  async #loadWindow(conversationId: Id): Promise<void> {
    this.#apply([{ type: 'messages', conversationId, messages: await this.#newest<Message>(keys.messages(conversationId), 200) }]);
  }

  /** Cache first: reads what the cache holds into the head state and the stores, after the writes queued before. */
  #reload(): Promise<void> {
    return this.#step(async () => {
      const [user, records, outbox, contacts, presence, users, posts] = await Promise.all([
        this.#cache.get<User>(keys.user),
        this.#newest<ConversationRecord>(keys.conversations),
        this.#newest<OutboxEntry>(keys.outbox),
        this.#newest<Contact>(keys.contacts),
        this.#newest<Presence>(keys.presences),
        this.#newest<User>(keys.users),
        this.#newest<Post>(keys.posts, 200),
      ]);
      const changes = [
        ...(user ? [{ type: 'user', user }] : []),
        { type: 'users', users },
        ...records.map((record) => ({ type: 'conversation', record })),
        ...outbox.map((entry) => ({ type: 'outbox', entry })),
        ...contacts.map((contact) => ({ type: 'contact', contact })),
        ...presence.map((p) => ({ type: 'presence', presence: p })),
        ...posts.map((post) => ({ type: 'post', post })),
      ] as Change[];
      // The cache is the truth (a tab taking over may have missed the old leader's last broadcasts).
      this.#queue.clear();
      this.#view.outbox.clear();
      this.#adopt(changes);
      // Sends made meanwhile wait for this read to be written, but are in the outbox all the same.
      this.#adopt(this.#batch?.changes ?? [], false);
      await Promise.all([...this.#messageStores.keys()].map((id) => this.#loadWindow(id)));
    });
  }

  async #becomeLeader(session: Array<() => void>): Promise<void> {
    const tabs = this.#tabs;
    if (tabs) {
      // What the old leader persisted is the truth; the broadcasts may have missed the last writes.
      await this.#reload();
      if (session !== this.#session) return; // disconnect() meanwhile (and maybe connect() again, with the same coordinator)
      this.#emitter.emit('leader', true);
    }
    this.#leader = true;
    this.#connector.transition({ leader: true });
    this.#connector.start();
    // Calls still waiting for the old leader (or for no one) run here, and in the other tabs go again.
    tabs?.send({ t: 'leader' });
    this.#onTab({ t: 'leader' });
  }

  /** After connecting: identity, roster, resume, then flush the outbox and refresh the feed. */
  async #opened(connection: BackendConnection): Promise<void> {
    const user = connection.session.user;
    const cached = this.#view.user;
    if (cached && cached.id !== user.id) {
      // A different user on this cache: forget everything of the previous one.
      await this.#cache.clear('');
      this.#records.clear();
      this.#queue.clear();
      this.#view = new View();
      this.#refresh({ conversations: new Set(this.#messageStores.keys()), list: true, roster: true, timeline: true });
    }
    await this.#commit([{ type: 'user', user }]);
    if (this.capabilities.presence) {
      const { contacts, presence } = await connection.roster();
      const current = new Set(contacts.map((c) => c.user.id));
      await this.#commit([
        ...[...this.#view.contacts.values()].filter((c) => !current.has(c.user.id)).map((contact) => ({ type: 'contact' as const, contact, removed: true })),
        ...contacts.map((contact) => ({ type: 'contact' as const, contact })),
        ...presence.map((p) => ({ type: 'presence' as const, presence: p })),
      ]);
    }
    try {
      await this.#resume.resume(connection);
    } catch (error) {
      if (error instanceof PerchError && error.transient) throw error;
      // Resume failed for good: forget the cursors and fetch everything afresh.
      await this.#resume.resyncAll();
      await this.#resume.resume(connection);
    }
    this.#outbox.kick();
    if (this.capabilities.feed) await this.#commands.feed();
  }

  #onTab(message: TabMessage): void {
    switch (message.t) {
      case 'changes':
        this.#adopt(message.changes);
        if (this.#leader) this.#outbox.kick();
        break;
      case 'status':
        if (!this.#leader) this.#connector.transition({ ...message.status, leader: false });
        break;
      case 'hello':
        if (this.#leader) this.#tabs?.send({ t: 'status', status: this.status.get() });
        break;
      case 'emit':
        if (!this.#leader) this.#emitter.emit(message.event, ...(message.args as [never]));
        break;
      case 'call':
        if (this.#leader) {
          // This tab leads, so `#command` runs it here (an unknown method rejects: it is async).
          const args = message.args as Parameters<LeaderCommands[CommandName]>;
          void this.#command(message.method as CommandName, ...args)
            .then(
              (value) => this.#tabs?.send({ t: 'reply', id: message.id, value }),
              (e: unknown) => {
                const error = e instanceof PerchError ? e : new PerchError('internal', describe(e));
                this.#tabs?.send({ t: 'reply', id: message.id, error: { code: error.code, message: error.message } });
              },
            );
        }
        break;
      case 'leader':
        for (const again of this.#calls.values()) again();
        // The new leader read its cache, which lacks what was written while that tab went on in memory: say the queue again.
        this.#tabs?.send({ t: 'changes', changes: [...this.#queue.values()].map((entry) => ({ type: 'outbox', entry })) });
        break;
      case 'reply':
        this.#calls.get(message.id)?.(message);
        break;
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The user a token names (a JWT's `sub`), so the cache is per user; `visitor` or `default` otherwise. */
function subject(auth: AuthSource): string {
  try {
    const token = (auth as { token: string }).token;
    const { sub } = JSON.parse(atob(token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { sub?: unknown };
    if (typeof sub === 'string') return sub;
  } catch {
    // not a JWT
  }
  return 'visitor' in auth ? 'visitor' : 'default';
}
