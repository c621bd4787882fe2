import type { Contact, Conversation, FeedSource, Id, Message, Post, PresenceShow, User } from '@perch/protocol';
import { PerchError, type BackendConnection, type MessagePage, type PostPage } from './backend.js';
import type { Change } from './changes.js';
import type { CoreContext } from './context.js';
import type { Resume } from './resume.js';

const TYPING_REFRESH = 3_000;

/**
 * Commands that need the connection. They run in the tab that holds it; other tabs call them
 * through the BroadcastChannel. Arguments and results are plain data for that reason.
 */
export class LeaderCommands {
  private readonly typingSent = new Map<Id, number>();

  constructor(
    private readonly core: CoreContext,
    private readonly resume: Resume,
  ) {}

  private connection(): BackendConnection {
    const connection = this.core.connection();
    if (!connection) throw new PerchError('unavailable', 'Perch is offline; this needs a connection. Try again once the status is online.');
    return connection;
  }

  async openDirect(userId: Id): Promise<Conversation> {
    const c = await this.connection().openDirect(userId);
    await this.resume.conversation(c);
    return c;
  }

  async createGroup(input: { title: string; members: Id[] }): Promise<Conversation> {
    const c = await this.connection().createGroup(input);
    await this.resume.conversation(c);
    return c;
  }

  /** Moves the read marker locally at once (it works offline) and tells the server when connected. */
  async markRead(conversationId: Id, seq: number): Promise<void> {
    const old = this.core.records.get(conversationId);
    if (!old || seq <= old.conversation.readSeq) return;
    const record = { ...old, conversation: { ...old.conversation, readSeq: Math.min(seq, old.conversation.lastSeq) } };
    this.core.records.set(conversationId, record);
    await this.core.commit([{ type: 'conversation', record }]);
    await this.core.connection()?.markRead({ conversationId, seq: record.conversation.readSeq });
  }

  /** Sends `on` at most every few seconds while typing continues, and `off` once. */
  async setTyping(conversationId: Id, on: boolean): Promise<void> {
    const last = this.typingSent.get(conversationId) ?? 0;
    if (on && Date.now() - last < TYPING_REFRESH) return;
    if (!on && !last) return;
    if (on) this.typingSent.set(conversationId, Date.now());
    else this.typingSent.delete(conversationId);
    await this.connection().setTyping({ conversationId, on });
  }

  async edit(input: { conversationId: Id; id: Id; text: string }): Promise<Message> {
    return this.absorb(await this.connection().editMessage(input));
  }

  async delete(input: { conversationId: Id; id: Id }): Promise<Message> {
    return this.absorb(await this.connection().deleteMessage(input));
  }

  /** Fetches older messages and files them under the conversation (extending the cached floor). */
  async history(input: { conversationId: Id; before: number; limit: number }): Promise<MessagePage> {
    const page = await this.connection().history(input);
    const record = this.core.records.get(input.conversationId);
    if (record) {
      const changes: Change[] = [];
      this.resume.absorb(record, page.messages, changes);
      await this.core.commit(changes);
    }
    return page;
  }

  async feed(input: { source: FeedSource; before?: Id; limit: number }): Promise<PostPage> {
    const page = await this.connection().feed(input);
    if (input.source.kind === 'home') await this.core.commit(page.posts.map((post) => ({ type: 'post', post })));
    return page;
  }

  async like(input: { postId: Id; on: boolean }): Promise<Post> {
    const post = await this.connection().like(input);
    await this.core.commit([{ type: 'post', post }]);
    return post;
  }

  follow(input: { userId: Id; on: boolean }): Promise<void> {
    return this.connection().follow(input);
  }

  async setPresence(input: { show: Exclude<PresenceShow, 'offline'>; status?: string }): Promise<void> {
    await this.connection().setPresence(input);
    const me = this.core.me();
    if (me) await this.core.commit([{ type: 'presence', presence: { userId: me, ...input } }]);
  }

  async directory(): Promise<User[]> {
    const users = await this.connection().directory();
    await this.core.commit([{ type: 'users', users }]);
    return users;
  }

  profile(userId: Id): Promise<User> {
    return this.connection().profile(userId);
  }

  async addContact(input: { userId: Id; groups: string[] }): Promise<Contact> {
    const contact = await this.connection().addContact(input);
    await this.core.commit([{ type: 'contact', contact }]);
    return contact;
  }

  async removeContact(userId: Id): Promise<void> {
    await this.connection().removeContact(userId);
    const contact = this.core.view.contacts.get(userId);
    if (contact) await this.core.commit([{ type: 'contact', contact, removed: true }]);
  }

  private async absorb(message: Message): Promise<Message> {
    const record = this.core.records.get(message.conversationId);
    if (record) {
      const changes: Change[] = [];
      this.resume.absorb(record, [message], changes);
      await this.core.commit(changes);
    }
    return message;
  }
}

/** The commands a follower tab may ask the leader to run. */
export type Commands = Omit<LeaderCommands, never>;
/** Their names. */
export type CommandName = {
  [K in keyof LeaderCommands]: LeaderCommands[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof LeaderCommands];
