import { PerchError, type PostPage } from '@perch/core';
import type { FeedSource, Id, Post, User } from '@perch/protocol';
import { checkText, isCount, isId, mentions } from '@perch/protocol';
import type { MemoryHub } from './hub.js';

/** The most posts one feed page returns, whatever limit is asked. */
export const MAX_FEED_PAGE = 200;

interface PostRecord {
  /** The stored post, without the per-viewer `liked` flag. */
  post: Post;
  likedBy: Set<Id>;
}

/** Status posts, the follow graph, likes and replies: the feed half of the hub. */
export class FeedService {
  private readonly hub: MemoryHub;
  /** Every post in publication order (oldest first). */
  private readonly posts: PostRecord[] = [];
  private readonly byId = new Map<Id, PostRecord>();
  private readonly byClientId = new Map<string, PostRecord>();
  /** follower → followees. */
  private readonly follows = new Map<Id, Set<Id>>();

  /** Creates the feed store of `hub`. */
  constructor(hub: MemoryHub) {
    this.hub = hub;
  }

  /** Starts or stops `followerId` following `input.userId`. */
  follow(followerId: Id, input: { userId: Id; on: boolean }): void {
    this.hub.requireUser(followerId);
    this.hub.requireUser(input.userId);
    if (input.userId === followerId) throw new PerchError('bad_request', 'You cannot follow yourself.');
    let followees = this.follows.get(followerId);
    if (followees === undefined) this.follows.set(followerId, (followees = new Set()));
    if (input.on) followees.add(input.userId);
    else followees.delete(input.userId);
  }

  /**
   * Publishes a post and fans it out to the author's and followers' connections. A retry with the
   * same `clientId` answers with the original post and fans out nothing. A reply increments the
   * parent's `replies`, which is fanned out too.
   */
  publish(
    userId: Id,
    input: { clientId: string; text: string; createdAt: number; replyTo?: Id },
  ): { post: Post; fresh: boolean } {
    if (!isId(input.clientId)) throw new PerchError('bad_request', 'A post needs a clientId of 1–128 letters, digits or _ . : @ -.');
    const key = `${userId}\u0000${input.clientId}`;
    const original = this.byClientId.get(key);
    if (original !== undefined) return { post: this.view(original, userId), fresh: false };
    const text = checkText(input.text, 'Post');
    if (!text.ok) throw new PerchError('bad_request', text.error);
    if (!isCount(input.createdAt)) throw new PerchError('bad_request', 'createdAt must be a timestamp in milliseconds.');
    const parent = input.replyTo === undefined ? undefined : this.require(input.replyTo);
    this.hub.checkRejection({ kind: 'post', senderId: userId, clientId: input.clientId, text: text.value });
    const post: Post = {
      id: crypto.randomUUID(),
      clientId: input.clientId,
      authorId: userId,
      text: text.value,
      createdAt: input.createdAt,
      sentAt: this.hub.now(),
      likes: 0,
      replies: 0,
      state: 'sent',
    };
    if (parent !== undefined) {
      // Stored with the reply, so every page, event and answer that shows it says whom it answers.
      post.replyTo = parent.post.id;
      post.replyToAuthorId = parent.post.authorId;
    }
    const record: PostRecord = { post, likedBy: new Set() };
    this.posts.push(record);
    this.byId.set(post.id as Id, record);
    this.byClientId.set(key, record);
    this.fanOut(record);
    if (parent !== undefined) {
      parent.post.replies = (parent.post.replies ?? 0) + 1;
      this.fanOut(parent);
    }
    return { post: this.view(record, userId), fresh: true };
  }

  /** A page of a timeline, newest first, older than the post `before` when given. */
  page(userId: Id, input: { source: FeedSource; before?: Id; limit: number }): PostPage {
    if (!isCount(input.limit) || input.limit === 0) throw new PerchError('bad_request', 'limit must be a positive integer.');
    const matches = this.matcher(userId, input.source);
    let end = this.posts.length;
    if (input.before !== undefined) {
      const held = this.require(input.before);
      end = this.posts.indexOf(held);
    }
    const size = Math.min(input.limit, MAX_FEED_PAGE);
    const posts: Post[] = [];
    let index = end - 1;
    for (; index >= 0 && posts.length < size; index--) {
      const record = this.posts[index] as PostRecord;
      if (matches(record.post)) posts.push(this.view(record, userId));
    }
    let complete = true;
    for (; index >= 0; index--) {
      if (matches((this.posts[index] as PostRecord).post)) {
        complete = false;
        break;
      }
    }
    return { posts, complete };
  }

  /** Likes or unlikes a post for the caller and returns it; a change is fanned out. */
  like(userId: Id, input: { postId: Id; on: boolean }): Post {
    const record = this.require(input.postId);
    const had = record.likedBy.has(userId);
    if (input.on && !had) record.likedBy.add(userId);
    if (!input.on && had) record.likedBy.delete(userId);
    record.post.likes = record.likedBy.size;
    if (had !== input.on) this.fanOut(record, [userId]);
    return this.view(record, userId);
  }

  private matcher(userId: Id, source: FeedSource): (post: Post) => boolean {
    switch (source.kind) {
      case 'home': {
        const followees = this.follows.get(userId) ?? new Set<Id>();
        return (post) => post.authorId === userId || followees.has(post.authorId);
      }
      case 'user': {
        this.hub.requireUser(source.userId);
        return (post) => post.authorId === source.userId;
      }
      case 'mentions': {
        const me: User = this.hub.requireUser(userId);
        return (post) => mentions(post.text, me.id) || mentions(post.text, me.name);
      }
      default:
        throw new PerchError('bad_request', 'Unknown feed source.');
    }
  }

  /** Sends the post to its author's and followers' connections (plus `extra` users), each with their own `liked`. */
  private fanOut(record: PostRecord, extra: Id[] = []): void {
    const authorId = record.post.authorId;
    const audience = [authorId, ...extra];
    for (const [followerId, followees] of this.follows) if (followees.has(authorId)) audience.push(followerId);
    this.hub.emitTo(audience, (viewerId) => ({ type: 'post', post: this.view(record, viewerId) }));
  }

  private view(record: PostRecord, viewerId: Id): Post {
    return { ...structuredClone(record.post), liked: record.likedBy.has(viewerId) };
  }

  private require(postId: Id): PostRecord {
    const record = typeof postId === 'string' ? this.byId.get(postId) : undefined;
    if (record === undefined) throw new PerchError('not_found', `There is no post with id ${JSON.stringify(postId)}.`);
    return record;
  }
}
