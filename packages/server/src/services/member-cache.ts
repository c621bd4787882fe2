/**
 * The member lists of conversations, cached (members never change once a conversation exists).
 * Bounded by the member ids it holds, not by how many lists: a few huge groups weigh as much as
 * thousands of direct chats.
 */
import type { Id } from '@perch/protocol';

/**
 * Member ids held at most, each list counting one more for itself: 200,000 holds 50,000 direct
 * conversations (3 each) with room to spare, and ids of UUID length take some 15 MB at most.
 */
export const MEMBER_CACHE_IDS = 200_000;

interface Entry {
  lookup: Promise<Id[] | undefined>;
  /** What it counts against the bound: 0 while the lookup runs, then its ids plus one. */
  cost: number;
}

/** The member ids of conversations, read through `load` and kept while they fit in `maxIds`. */
export class MemberCache {
  private readonly load: (conversationId: Id) => Promise<Id[] | undefined>;
  private readonly maxIds: number;
  /** Least recently used first. */
  private readonly entries = new Map<Id, Entry>();
  private held = 0;

  /** Creates an empty cache reading through `load` (undefined: no such conversation). */
  constructor(load: (conversationId: Id) => Promise<Id[] | undefined>, maxIds = MEMBER_CACHE_IDS) {
    this.load = load;
    this.maxIds = maxIds;
  }

  /** Member ids held now, each list counting one more for itself (for tests and monitoring). */
  get heldIds(): number {
    return this.held;
  }

  /** How many conversations' lists are held or being read. */
  get lists(): number {
    return this.entries.size;
  }

  /**
   * The members of `conversationId`, or undefined when there is no such conversation (that answer
   * is not kept, nor is a failed read). The cache holds the lookup itself, so concurrent callers
   * share it and go on in the order they called.
   */
  members(conversationId: Id): Promise<Id[] | undefined> {
    const cached = this.entries.get(conversationId);
    if (cached !== undefined) {
      this.entries.delete(conversationId);
      this.entries.set(conversationId, cached);
      return cached.lookup;
    }
    const entry: Entry = { lookup: this.load(conversationId), cost: 0 };
    this.entries.set(conversationId, entry);
    const settle = (members: Id[] | undefined) => {
      if (this.entries.get(conversationId) !== entry) return; // Evicted while it was read.
      if (members === undefined) {
        this.entries.delete(conversationId);
        return;
      }
      entry.cost = members.length + 1;
      this.held += entry.cost;
      this.evict();
    };
    entry.lookup.then(settle, () => settle(undefined));
    return entry.lookup;
  }

  /** Drops the least recently used lists until the ids held fit the bound again. */
  private evict(): void {
    for (const [conversationId, entry] of this.entries) {
      if (this.held <= this.maxIds) return;
      // A lookup still running weighs nothing yet; it is counted (and may go) once it resolves.
      if (entry.cost === 0) continue;
      this.entries.delete(conversationId);
      this.held -= entry.cost;
    }
  }
}
