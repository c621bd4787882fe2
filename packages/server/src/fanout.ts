/**
 * Fan-out: getting a frame to every open connection of some users. The services publish to user
 * ids and never see sockets, so that connections may live in other processes.
 *
 * {@link LocalFanout} delivers within this process. To run several server processes behind a load
 * balancer, add e.g. `fanout-redis.ts` (or NATS) implementing {@link Fanout}: `publish` sends the
 * serialised frame on one channel per user id (`perch:user:<id>`), and `subscribe` subscribes to
 * that channel for the first local connection of a user and unsubscribes after the last. Choose it
 * in `server.ts` where `new LocalFanout()` is created. Frames are built per viewer by the services
 * before publishing, so nothing but serialised text ever crosses the wire between processes.
 */
import type { Id, ServerFrame } from '@perch/protocol';
import { frameText } from './frame-text.js';

/** One open connection's end of the fan-out. */
export interface Subscriber {
  /** Unique per connection (across processes, so a UUID); lets a publisher skip the origin connection. */
  readonly connectionId: string;
  /** Hands one serialised frame to the connection. Must not throw. */
  deliver(text: string): void;
}

/** Options of {@link Fanout.publish}. */
export interface PublishOptions {
  /** A connection that must not receive the frame (the one whose request caused it). */
  except?: string;
}

/** Routes frames to the open connections of users, wherever those connections are. */
export interface Fanout {
  /** Sends `frame` (serialised once) to every connection of each of `userIds`. */
  publish(userIds: Iterable<Id>, frame: ServerFrame, options?: PublishOptions): void;
  /** Registers a connection of `userId`; returns the function that unregisters it. */
  subscribe(userId: Id, subscriber: Subscriber): () => void;
  /** Releases what the fan-out holds (network links for a distributed one). */
  close(): Promise<void>;
}

/** In-process fan-out: a map from user id to that user's connections in this process. */
export class LocalFanout implements Fanout {
  private readonly byUser = new Map<Id, Set<Subscriber>>();

  publish(userIds: Iterable<Id>, frame: ServerFrame, options: PublishOptions = {}): void {
    let text: string | undefined;
    const seen = new Set<Id>();
    for (const userId of userIds) {
      if (seen.has(userId)) continue;
      seen.add(userId);
      const subscribers = this.byUser.get(userId);
      if (subscribers === undefined) continue;
      text ??= frameText(frame);
      for (const subscriber of subscribers) {
        if (subscriber.connectionId !== options.except) subscriber.deliver(text);
      }
    }
  }

  subscribe(userId: Id, subscriber: Subscriber): () => void {
    let subscribers = this.byUser.get(userId);
    if (subscribers === undefined) this.byUser.set(userId, (subscribers = new Set()));
    subscribers.add(subscriber);
    return () => {
      const current = this.byUser.get(userId);
      if (current === undefined) return;
      current.delete(subscriber);
      if (current.size === 0) this.byUser.delete(userId);
    };
  }

  async close(): Promise<void> {
    this.byUser.clear();
  }
}
