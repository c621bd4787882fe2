/**
 * Who is connected, counted per user in this process. A user is online while they have at least
 * one open connection.
 *
 * With several server processes these counts must be shared: replace this class with one backed
 * by Redis (a hash of per-process counts per user, each process refreshing its own entries with a
 * TTL so that a crashed process's connections expire) and publish "first connection" / "last
 * connection" transitions through the {@link Fanout}.
 */
import type { Id } from '@perch/protocol';

/** Per-process connection counts. */
export class PresenceTracker {
  private readonly counts = new Map<Id, number>();

  /** Counts a new connection of `userId`; true when it is the user's first. */
  attach(userId: Id): boolean {
    const count = (this.counts.get(userId) ?? 0) + 1;
    this.counts.set(userId, count);
    return count === 1;
  }

  /** Forgets a closed connection of `userId`; true when it was the user's last. */
  detach(userId: Id): boolean {
    const count = (this.counts.get(userId) ?? 0) - 1;
    if (count > 0) {
      this.counts.set(userId, count);
      return false;
    }
    this.counts.delete(userId);
    return count === 0;
  }

  /** True while `userId` has at least one open connection. */
  isOnline(userId: Id): boolean {
    return (this.counts.get(userId) ?? 0) > 0;
  }

  /** The number of open connections of everybody. */
  get connections(): number {
    let total = 0;
    for (const count of this.counts.values()) total += count;
    return total;
  }
}
