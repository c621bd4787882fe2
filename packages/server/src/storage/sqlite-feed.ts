/**
 * The SQLite part of {@link Storage} that deals with the status feed: posts in publication order,
 * replies and likes.
 */
import type Database from 'better-sqlite3';
import type { Id, Post } from '@perch/protocol';
import { mentions } from '@perch/protocol';
import type { FeedQuery, NewPost, Storage } from './storage.js';
import type { WriteBatch } from './write-batch.js';

interface PostRow {
  id: string;
  author_id: string;
  client_id: string;
  text: string;
  created_at: number;
  sent_at: number;
  reply_to: string | null;
  /** The author of the post `reply_to` names (a join: null when there is none). */
  reply_to_author: string | null;
  likes: number;
  replies: number;
  liked?: number;
}

const POST_COLUMNS = 'p.id, p.author_id, p.client_id, p.text, p.created_at, p.sent_at, p.reply_to, r.author_id AS reply_to_author, p.likes, p.replies';
/** Posts `p`, each with the post it replies to as `r` (by the unique index on id). */
const POSTS = 'posts p LEFT JOIN posts r ON r.id = p.reply_to';
const LIKED = 'EXISTS (SELECT 1 FROM likes l WHERE l.post_id = p.id AND l.user_id = @viewer) AS liked';

function postFromRow(row: PostRow): Post {
  const post: Post = {
    id: row.id,
    clientId: row.client_id,
    authorId: row.author_id,
    text: row.text,
    createdAt: row.created_at,
    sentAt: row.sent_at,
    likes: row.likes,
    replies: row.replies,
    state: 'sent',
  };
  if (row.reply_to !== null) post.replyTo = row.reply_to;
  if (row.reply_to_author !== null) post.replyToAuthorId = row.reply_to_author;
  if (row.liked !== undefined) post.liked = row.liked === 1;
  return post;
}

type FeedMethods = Pick<Storage, 'createPost' | 'getPost' | 'feed' | 'setLike' | 'likersAmong'>;

/** Builds the feed methods of the SQLite storage over an open, migrated database; writes go through `batch`. */
export function sqliteFeed(db: Database.Database, batch: WriteBatch): FeedMethods {
  db.function('perch_mentions', { deterministic: true }, (text: unknown, handle: unknown) =>
    typeof text === 'string' && typeof handle === 'string' && mentions(text, handle) ? 1 : 0,
  );
  const selectByClientId = db.prepare(`SELECT ${POST_COLUMNS} FROM ${POSTS} WHERE p.author_id = ? AND p.client_id = ?`);
  const insertPost = db.prepare(`
    INSERT INTO posts (id, author_id, client_id, text, created_at, sent_at, reply_to) VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const countReply = db.prepare('UPDATE posts SET replies = replies + 1 WHERE id = ? RETURNING author_id').pluck();
  const selectPost = db.prepare(`SELECT ${POST_COLUMNS}, ${LIKED} FROM ${POSTS} WHERE p.id = @id`);
  const selectPos = db.prepare('SELECT pos FROM posts WHERE id = ?').pluck();
  const page = (where: string) =>
    db.prepare(`SELECT ${POST_COLUMNS}, ${LIKED} FROM ${POSTS} WHERE (${where}) AND p.pos < @before ORDER BY p.pos DESC LIMIT @limit`);
  const pages = {
    home: page('p.author_id = @viewer OR p.author_id IN (SELECT followee_id FROM follows WHERE follower_id = @viewer)'),
    user: page('p.author_id = @author'),
    mentions: page('perch_mentions(p.text, @first) OR perch_mentions(p.text, @second)'),
  };
  const insertLike = db.prepare('INSERT OR IGNORE INTO likes (post_id, user_id) VALUES (?, ?)');
  const deleteLike = db.prepare('DELETE FROM likes WHERE post_id = ? AND user_id = ?');
  const recount = db.prepare('UPDATE posts SET likes = (SELECT count(*) FROM likes WHERE post_id = @id) WHERE id = @id');
  const selectLikers = db.prepare('SELECT user_id FROM likes WHERE post_id = ? AND user_id IN (SELECT value FROM json_each(?))').pluck();

  const create = (input: NewPost) => {
    const original = selectByClientId.get(input.authorId, input.clientId) as PostRow | undefined;
    if (original !== undefined) return { value: postFromRow(original), fresh: false };
    // Counting the reply on its parent also says who wrote the parent.
    const replyToAuthor = input.replyTo === undefined ? undefined : (countReply.get(input.replyTo) as Id | undefined);
    if (input.replyTo !== undefined && replyToAuthor === undefined) throw new Error(`Post ${input.replyTo} does not exist.`);
    insertPost.run(input.id, input.authorId, input.clientId, input.text, input.createdAt, input.sentAt, input.replyTo ?? null);
    const post: Post = {
      id: input.id,
      clientId: input.clientId,
      authorId: input.authorId,
      text: input.text,
      createdAt: input.createdAt,
      sentAt: input.sentAt,
      likes: 0,
      replies: 0,
      state: 'sent',
    };
    if (input.replyTo !== undefined) post.replyTo = input.replyTo;
    if (replyToAuthor !== undefined) post.replyToAuthorId = replyToAuthor;
    return { value: post, fresh: true };
  };

  const like = (postId: Id, userId: Id, on: boolean): boolean | undefined => {
    if (selectPos.get(postId) === undefined) return undefined;
    const changed = (on ? insertLike.run(postId, userId) : deleteLike.run(postId, userId)).changes > 0;
    if (changed) recount.run({ id: postId });
    return changed;
  };

  return {
    async createPost(input) {
      return batch.run(() => create(input));
    },
    async getPost(id, viewerId) {
      const row = selectPost.get({ id, viewer: viewerId }) as PostRow | undefined;
      return row === undefined ? undefined : postFromRow(row);
    },
    async feed(query: FeedQuery, viewerId, { before, limit }) {
      let beforePos = Number.MAX_SAFE_INTEGER;
      if (before !== undefined) {
        const pos = selectPos.get(before) as number | undefined;
        if (pos === undefined) return undefined;
        beforePos = pos;
      }
      const params = { viewer: viewerId, before: beforePos, limit: limit + 1 };
      let rows: PostRow[];
      if (query.kind === 'home') rows = pages.home.all(params) as PostRow[];
      else if (query.kind === 'user') rows = pages.user.all({ ...params, author: query.authorId }) as PostRow[];
      else {
        const [first = '', second = first] = query.handles;
        rows = pages.mentions.all({ ...params, first, second }) as PostRow[];
      }
      return { posts: rows.slice(0, limit).map(postFromRow), complete: rows.length <= limit };
    },
    async setLike(postId, userId, on) {
      return batch.run(() => like(postId, userId, on));
    },
    async likersAmong(postId, userIds) {
      return new Set(selectLikers.all(postId, JSON.stringify(userIds)) as Id[]);
    },
  };
}
