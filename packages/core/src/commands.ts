import type { Contact, Conversation, FeedSource, Id, Message, Post, PresenceShow, User } from '@perch/protocol';
import { validateText } from '@perch/protocol';
import { PerchError, type BackendConnection, type MessagePage, type PostPage } from './backend.js';
import type { Connector } from './connection.js';
import type { CoreContext } from './context.js';
import { setRecord, type Resume } from './resume.js';

const TYPING_REFRESH = 3_000;

/**
 * Commands that need the connection. They run in the tab that holds it; other tabs call them
 * through the BroadcastChannel. Arguments and results are plain data for that reason. While the
 * connection is still opening they wait for it (see {@link Connector.open}).
 */
export class LeaderCommands {
  readonly #typingSent = new Map<Id, number>();

  readonly #core: CoreContext;
  readonly #resume: Resume;
  readonly #connector: Connector;

  constructor(core: CoreContext, resume: Resume, connector: Connector) {
    this.#core = core;
    this.#resume = resume;
    this.#connector = connector;
  }

  #connection(): Promise<BackendConnection> {
    return this.#connector.open();
  }

  /** Opens (or finds) the direct conversation with a user. */
  async openDirect(userId: Id): Promise<Conversation> {
    const c = await (await this.#connection()).openDirect(userId);
    await this.#resume.conversation(c);
    return c;
  }

  /** Creates a group conversation with the user and `memberIds`; a retry with the same `clientId` answers the same group. */
  async createGroup(title: string, memberIds: Id[], clientId: string): Promise<Conversation> {
    const c = await (await this.#connection()).createGroup({ title, members: memberIds, clientId });
    await this.#resume.conversation(c);
    return c;
  }

  /** Marks everything up to `seq` (default: the newest) read; works offline and is sent on reconnect. */
  async markRead(conversationId: Id, seq?: number): Promise<void> {
    const old = this.#core.records.get(conversationId);
    if (!old) return;
    const readSeq = Math.min(seq ?? old.conversation.lastSeq, old.conversation.lastSeq);
    if (readSeq <= old.conversation.readSeq) return;
    await this.#core.commit([setRecord(this.#core, { ...old, conversation: { ...old.conversation, readSeq } })]);
    await this.#core.connection()?.markRead({ conversationId, seq: readSeq });
  }

  /** Says whether the user is typing: `on` at most every few seconds, `off` once; never throws. */
  async setTyping(conversationId: Id, on: boolean): Promise<void> {
    const last = this.#typingSent.get(conversationId) ?? 0;
    if (!this.#core.capabilities.typing || (on ? Date.now() - last < TYPING_REFRESH : !last)) return;
    if (on) this.#typingSent.set(conversationId, Date.now());
    else this.#typingSent.delete(conversationId);
    await this.#core.connection()?.setTyping({ conversationId, on }).catch(() => {});
  }

  /** Edits one of the user's own messages. */
  async edit(conversationId: Id, id: Id, text: string): Promise<Message> {
    return this.#absorb(await (await this.#connection()).editMessage({ conversationId, id, text: checkedText(text, 'Message') }));
  }

  /** Deletes one of the user's own messages (the text is emptied for everyone). */
  async delete(conversationId: Id, id: Id): Promise<Message> {
    return this.#absorb(await (await this.#connection()).deleteMessage({ conversationId, id }));
  }

  /** Fetches older messages from the server and files them under the conversation. */
  async older(input: { conversationId: Id; before: number; limit: number }): Promise<MessagePage> {
    const page = await (await this.#connection()).history(input);
    await this.#resume.file(input.conversationId, page.messages);
    return page;
  }

  /** A page of a timeline (home by default), newest first; home posts also enter `timeline`. */
  async feed(options: { source?: FeedSource; before?: Id; limit?: number } = {}): Promise<PostPage> {
    const source = options.source ?? { kind: 'home' };
    const input = { source, limit: options.limit ?? 30 };
    const page = await (await this.#connection()).feed(options.before ? { ...input, before: options.before } : input);
    if (source.kind === 'home') await this.#core.commit(page.posts.map((post) => ({ type: 'post', post })));
    return page;
  }

  /** Likes (or, with `on = false`, unlikes) a post. */
  async like(postId: Id, on = true): Promise<Post> {
    const post = await (await this.#connection()).like({ postId, on });
    await this.#core.commit([{ type: 'post', post }]);
    return post;
  }

  /** Follows (or unfollows) a user's status updates. */
  async follow(userId: Id, on = true): Promise<void> {
    await (await this.#connection()).follow({ userId, on });
  }

  /**
   * Sets the user's availability and personal status message. Presence needs a connection, so
   * the backend validates it (a `bad_request` says what is wrong).
   */
  async setPresence(presence: { show: Exclude<PresenceShow, 'offline'>; status?: string }): Promise<void> {
    await (await this.#connection()).setPresence(presence);
    const me = this.#core.me();
    if (me) await this.#core.commit([{ type: 'presence', presence: { userId: me, ...presence } }]);
  }

  /** Everyone in the organisation (capability `directory`). */
  async directory(): Promise<User[]> {
    const users = await (await this.#connection()).directory();
    await this.#core.commit([{ type: 'users', users }]);
    return users;
  }

  /** A user's profile. */
  async profile(userId: Id): Promise<User> {
    return (await this.#connection()).profile(userId);
  }

  /** Adds a user to the buddy list, filed under `groups`. */
  async addContact(userId: Id, groups: string[] = []): Promise<Contact> {
    const contact = await (await this.#connection()).addContact({ userId, groups });
    await this.#core.commit([{ type: 'contact', contact }]);
    return contact;
  }

  /** Removes a user from the buddy list. */
  async removeContact(userId: Id): Promise<void> {
    await (await this.#connection()).removeContact(userId);
    const contact = this.#core.view().contacts.get(userId);
    if (contact) await this.#core.commit([{ type: 'contact', contact, removed: true }]);
  }

  async #absorb(message: Message): Promise<Message> {
    await this.#resume.file(message.conversationId, [message]);
    return message;
  }

}

/** The commands a follower tab may ask the leader to run. */
export type CommandName = keyof LeaderCommands;

/** The commands that are not methods of the client as they are (see {@link FORWARDED}). */
type NotForwarded = 'createGroup' | 'older';

/**
 * The commands the client offers as its own methods, unchanged: all but `createGroup`, a method of
 * the client of its own (its `clientId` is made in the tab where the app calls it), and `older`,
 * which `history()` calls.
 */
export const FORWARDED = Object.getOwnPropertyNames(LeaderCommands.prototype).filter(
  (name) => !['constructor', 'createGroup', 'older'].includes(name),
) as Array<Exclude<CommandName, NotForwarded>>;

/** Checks message or post text, throwing a `bad_request` PerchError with the reason. */
export function checkedText(text: string, what: string): string {
  const valid = validateText(text, what);
  if (!valid.ok) throw new PerchError('bad_request', valid.error);
  return valid.value;
}
