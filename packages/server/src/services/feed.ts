/**
 * Status posts, the follow graph, likes and replies. A post goes to the connections of its author
 * and their followers; likes and reply counts are fanned out the same way, each viewer getting
 * their own `liked`.
 */
import { timeOrderedId, type Commands, type Id, type Post } from '@perch/protocol';
import { RequestError } from '../request-error.js';
import type { FeedQuery } from '../storage/storage.js';
import { fitPage, refuseVisitors, requirePerson, type Caller, type ServiceDeps } from './context.js';

type Args<N extends keyof Commands> = Commands[N]['args'];

/** The feed part of the server. */
export class FeedService {
  private readonly deps: ServiceDeps;

  /** Creates the feed service over shared dependencies. */
  constructor(deps: ServiceDeps) {
    this.deps = deps;
  }

  /** Starts or stops the caller following `userId`. */
  async follow(caller: Caller, { userId, on }: Args<'follow'>): Promise<null> {
    refuseVisitors(caller, 'the feed');
    if (userId === caller.user.id) throw new RequestError('bad_request', 'You cannot follow yourself.');
    await requirePerson(this.deps, userId);
    await this.deps.storage.setFollow(caller.user.id, userId, on, this.deps.now());
    return null;
  }

  /**
   * Publishes a post and fans it out; a reply also fans out its parent's new reply count. A retry
   * with the same clientId answers the original post and fans out nothing.
   */
  async publish(caller: Caller, input: Args<'post'>): Promise<Post> {
    refuseVisitors(caller, 'the feed');
    const userId = caller.user.id;
    if (input.replyTo !== undefined) await this.requirePost(input.replyTo, userId);
    const candidate = {
      id: timeOrderedId(),
      authorId: userId,
      clientId: input.clientId,
      text: input.text,
      createdAt: input.createdAt,
      sentAt: this.deps.now(),
      ...(input.replyTo === undefined ? {} : { replyTo: input.replyTo }),
    };
    const { value, fresh } = await this.deps.storage.createPost(candidate);
    if (!fresh) return this.requirePost(value.id as Id, userId);
    await this.fanOut(value.id as Id);
    if (value.replyTo !== undefined) await this.fanOut(value.replyTo);
    return { ...value, liked: false };
  }

  /** A page of a timeline, newest first, older than the post `before` when given. */
  async page(caller: Caller, { source, before, limit }: Args<'feed'>): Promise<Commands['feed']['result']> {
    refuseVisitors(caller, 'the feed');
    const me = caller.user;
    let query: FeedQuery;
    if (source.kind === 'home') query = { kind: 'home', viewerId: me.id };
    else if (source.kind === 'user') query = { kind: 'user', authorId: (await requirePerson(this.deps, source.userId)).id };
    else query = { kind: 'mentions', handles: [me.id, me.name] };
    const page = await this.deps.storage.feed(query, me.id, before === undefined ? { limit } : { before, limit });
    if (page === undefined) throw this.noPost(before as Id);
    // Newest first: the next page starts before the last post kept.
    const fit = fitPage(page.posts);
    return fit.all ? page : { posts: fit.items, complete: false };
  }

  /** Likes or unlikes a post for the caller and returns it; a change is fanned out. */
  async like(caller: Caller, { postId, on }: Args<'like'>): Promise<Post> {
    refuseVisitors(caller, 'the feed');
    const changed = await this.deps.storage.setLike(postId, caller.user.id, on);
    if (changed === undefined) throw this.noPost(postId);
    if (changed) await this.fanOut(postId, [caller.user.id]);
    return this.requirePost(postId, caller.user.id);
  }

  /** Sends the post to its author's and followers' connections (and `extra` users), each with their own `liked`. */
  private async fanOut(postId: Id, extra: Id[] = []): Promise<void> {
    const { storage, fanout } = this.deps;
    const post = await storage.getPost(postId, '');
    if (post === undefined) return;
    const audience = [...new Set([post.authorId, ...(await storage.followersOf(post.authorId)), ...extra])];
    const likers = post.likes > 0 ? await storage.likersAmong(postId, audience) : new Set<Id>();
    const others = audience.filter((id) => !likers.has(id));
    if (likers.size > 0) fanout.publish(likers, { type: 'event', event: 'post', data: { ...post, liked: true } });
    fanout.publish(others, { type: 'event', event: 'post', data: { ...post, liked: false } });
  }

  private async requirePost(postId: Id, viewerId: Id): Promise<Post> {
    const post = await this.deps.storage.getPost(postId, viewerId);
    if (post === undefined) throw this.noPost(postId);
    return post;
  }

  private noPost(postId: Id): RequestError {
    return new RequestError('not_found', `There is no post with id ${JSON.stringify(postId)}.`);
  }
}
