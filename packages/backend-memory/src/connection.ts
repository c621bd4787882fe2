import {
  PerchError,
  toPerchError,
  type BackendConnection,
  type BackendListener,
  type CloseReason,
  type MessagePage,
  type PostPage,
  type Session,
} from '@perch/core';
import type { Contact, Conversation, FeedSource, Id, Message, Post, Presence, PresenceShow, User } from '@perch/protocol';
import { DeliveryQueue } from './delivery.js';
import { chance } from './faults.js';
import type { MemoryHub } from './hub.js';
import type { HubEvent, HubLink } from './link.js';

const DUPLICABLE: ReadonlySet<HubEvent['type']> = new Set(['message', 'post', 'receipt', 'presence']);

/**
 * One client's connection to a {@link MemoryHub}. Commands run against the hub at once; their
 * answers and the hub's events reach the client through one FIFO with the configured latency,
 * never synchronously.
 */
export class MemoryConnection implements BackendConnection, HubLink {
  /** The signed-in user and, for visitors, the token to resume with. */
  readonly session: Session;
  /** The id of the signed-in user. */
  readonly userId: Id;
  private readonly hub: MemoryHub;
  private readonly listener: BackendListener;
  private readonly queue: DeliveryQueue;
  private readonly pending = new Set<(error: PerchError) => void>();
  private closed = false;

  /** Opens a connection for `session` on `hub`, reporting to `listener`, and registers it. */
  constructor(hub: MemoryHub, session: Session, listener: BackendListener) {
    this.hub = hub;
    this.session = session;
    this.userId = session.user.id;
    this.listener = listener;
    this.queue = new DeliveryQueue(hub.faults);
    hub.attach(this);
  }

  /** Queues an event for the listener; the duplicate fault may queue it twice. */
  emit(event: HubEvent): void {
    if (this.closed) return;
    const copies = DUPLICABLE.has(event.type) && chance(this.hub.faults, this.hub.faults.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const snapshot = structuredClone(event);
      this.queue.push(() => this.dispatch(snapshot), true);
    }
  }

  /** Cuts the connection: queued deliveries are lost, pending commands reject and the listener hears `closed`. */
  drop(reason: CloseReason): void {
    if (!this.shutDown(reason.message)) return;
    const copy = { ...reason };
    queueMicrotask(() => this.listener.closed(copy));
  }

  /** Ends the connection quietly: the listener's `closed` is not called. */
  close(): void {
    this.shutDown('The connection was closed.');
  }

  sendMessage(input: { conversationId: Id; clientId: string; text: string; createdAt: number }): Promise<Message> {
    return this.request(() => this.hub.chat.send(this.userId, input, { checkFaults: true }).message, true);
  }

  editMessage(input: { conversationId: Id; id: Id; text: string }): Promise<Message> {
    return this.request(() => this.hub.chat.edit(this.userId, input));
  }

  deleteMessage(input: { conversationId: Id; id: Id }): Promise<Message> {
    return this.request(() => this.hub.chat.remove(this.userId, input));
  }

  conversations(): Promise<Conversation[]> {
    return this.request(() => this.hub.chat.list(this.userId));
  }

  history(input: { conversationId: Id; after?: number; before?: number; limit: number }): Promise<MessagePage> {
    return this.request(() => this.hub.chat.history(this.userId, input));
  }

  openDirect(userId: Id): Promise<Conversation> {
    return this.request(() => this.hub.chat.openDirect(this.userId, userId));
  }

  createGroup(input: { title: string; members: Id[]; clientId?: string }): Promise<Conversation> {
    return this.request(() => this.hub.chat.createGroup(this.userId, input));
  }

  markRead(input: { conversationId: Id; seq: number }): Promise<void> {
    return this.request(() => this.hub.chat.mark(this.userId, input, 'read', this));
  }

  markDelivered(input: { conversationId: Id; seq: number }): Promise<void> {
    return this.request(() => this.hub.chat.mark(this.userId, input, 'delivered', this));
  }

  setTyping(input: { conversationId: Id; on: boolean }): Promise<void> {
    return this.request(() => this.hub.chat.typing(this.userId, input));
  }

  roster(): Promise<{ contacts: Contact[]; presence: Presence[] }> {
    return this.request(() => this.hub.social.roster(this.userId));
  }

  addContact(input: { userId: Id; groups: string[] }): Promise<Contact> {
    return this.request(() => this.hub.social.addContact(this.userId, input));
  }

  removeContact(userId: Id): Promise<void> {
    return this.request(() => this.hub.social.removeContact(this.userId, userId));
  }

  directory(): Promise<User[]> {
    return this.request(() => this.hub.social.directory());
  }

  profile(userId: Id): Promise<User> {
    return this.request(() => this.hub.social.profile(userId));
  }

  setPresence(input: { show: Exclude<PresenceShow, 'offline'>; status?: string }): Promise<void> {
    return this.request(() => this.hub.social.setPresence(this.userId, input, this));
  }

  post(input: { clientId: string; text: string; createdAt: number; replyTo?: Id }): Promise<Post> {
    return this.request(() => this.hub.feed.publish(this.userId, input).post, true);
  }

  feed(input: { source: FeedSource; before?: Id; limit: number }): Promise<PostPage> {
    return this.request(() => this.hub.feed.page(this.userId, input));
  }

  like(input: { postId: Id; on: boolean }): Promise<Post> {
    return this.request(() => this.hub.feed.like(this.userId, input));
  }

  follow(input: { userId: Id; on: boolean }): Promise<void> {
    return this.request(() => this.hub.feed.follow(this.userId, input));
  }

  /**
   * Runs `operation` against the hub now and queues its answer. With `ack`, the answer is a
   * persist acknowledgement that the ack-loss fault may lose, dropping the connection.
   */
  private request<T>(operation: () => T, ack = false): Promise<T> {
    if (this.closed) return Promise.reject(new PerchError('unavailable', 'The connection is closed.'));
    return new Promise<T>((resolve, reject) => {
      this.pending.add(reject);
      let answer: () => void;
      try {
        const value = structuredClone(operation());
        if (ack && this.hub.takeAckLoss()) {
          this.drop({ code: 'unavailable', message: 'The connection died before the acknowledgement arrived.' });
          return;
        }
        answer = () => resolve(value);
      } catch (error) {
        const failure = toPerchError(error);
        answer = () => reject(failure);
      }
      this.queue.push(() => {
        this.pending.delete(reject);
        answer();
      }, false);
    });
  }

  /** Marks the connection closed and fails what is pending; false when it already was closed. */
  private shutDown(message: string): boolean {
    if (this.closed) return false;
    this.closed = true;
    this.queue.stop();
    const failures = [...this.pending];
    this.pending.clear();
    for (const fail of failures) fail(new PerchError('unavailable', message));
    this.hub.detach(this);
    return true;
  }

  private dispatch(event: HubEvent): void {
    if (this.closed) return;
    const listener = this.listener;
    switch (event.type) {
      case 'message':
        return listener.message(event.message);
      case 'conversation':
        return listener.conversation(event.conversation);
      case 'post':
        return listener.post(event.post);
      case 'presence':
        return listener.presence(event.presence);
      case 'typing':
        return listener.typing(event.event);
      case 'receipt':
        return listener.receipt(event.event);
      case 'contact':
        if (event.removed) return listener.contact(event.contact, true);
        return listener.contact(event.contact);
    }
  }
}
