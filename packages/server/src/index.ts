/**
 * `@perch/server`: the Perch reference server. Run it with the `perch-server` command, or embed it:
 *
 * ```ts
 * const server = await startServer({ port: 0, db: ':memory:', secret: 'dev-secret' });
 * const token = await mintToken({ secret: 'dev-secret', sub: 'alice', name: 'Alice' });
 * // connect a WebSocket to server.url.replace('http', 'ws') and send hello with the token
 * await server.close();
 * ```
 */
export { startServer, VERSION, type RunningServer } from './server.js';
export { mintToken, type MintTokenOptions, type ProfileClaims } from './auth.js';
export type { ServerOptions } from './options.js';
export type { RateLimit } from './rate-limit.js';
export { LocalFanout, type Fanout, type PublishOptions, type Subscriber } from './fanout.js';
export { openSqliteStorage } from './storage/sqlite.js';
export type {
  ConversationRecord,
  FeedQuery,
  MarkerMoves,
  MemberRecord,
  NewMessage,
  NewPost,
  Persisted,
  Storage,
  StoredPresence,
} from './storage/storage.js';
export { runCli } from './cli.js';
