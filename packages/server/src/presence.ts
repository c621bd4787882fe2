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
  /** Whether each connected user chose `invisible`, once known (see {@link setInvisible}). */
  private readonly invisible = new Map<Id, boolean>();

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
    this.invisible.delete(userId);
    return count === 0;
  }

  /** Records whether a connected user chose `invisible`; forgotten with their last connection. */
  setInvisible(userId: Id, invisible: boolean): void {
    if (this.isOnline(userId)) this.invisible.set(userId, invisible);
  }

  /**
   * Whether a connected user chose `invisible`: undefined when not known here (not connected, or
   * their stored presence not read yet), for the caller to ask the storage.
   */
  isInvisible(userId: Id): boolean | undefined {
    return this.invisible.get(userId);
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
