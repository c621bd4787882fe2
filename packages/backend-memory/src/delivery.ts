import { chance, maxLatency, sampleLatency, type Faults } from './faults.js';

interface Item {
  /** When the item may run, on the `performance.now()` clock. */
  due: number;
  run: () => void;
}

/**
 * A per-connection first-in, first-out queue of answers and events. Every item waits for one
 * sampled latency, but never overtakes an item pushed before it, so random latency keeps the
 * order; only the `reorder` fault holds an event back behind the next item. Items never run
 * synchronously inside `push`: with zero latency they run in a microtask.
 */
export class DeliveryQueue {
  private readonly faults: Faults;
  private readonly items: Item[] = [];
  private lastDue = 0;
  private scheduled = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private held: (() => void) | undefined;
  private heldTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  /** Creates a queue that reads latency, reorder probability and randomness from `faults`. */
  constructor(faults: Faults) {
    this.faults = faults;
  }

  /**
   * Queues `run`. When `reorderable` (events, not answers) and the reorder fault fires, the item
   * is held back and released right after the next pushed item, or after a short grace period
   * when nothing else comes.
   */
  push(run: () => void, reorderable: boolean): void {
    if (this.stopped) return;
    if (reorderable && this.held === undefined && chance(this.faults, this.faults.reorder)) {
      this.held = run;
      this.heldTimer = setTimeout(() => this.releaseHeld(), maxLatency(this.faults) + 5);
      return;
    }
    this.enqueue(run);
    this.releaseHeld();
  }

  /** Discards everything queued and held; nothing runs after this. */
  stop(): void {
    this.stopped = true;
    this.items.length = 0;
    this.held = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.heldTimer !== undefined) clearTimeout(this.heldTimer);
    this.timer = undefined;
    this.heldTimer = undefined;
  }

  private releaseHeld(): void {
    const held = this.held;
    if (held === undefined) return;
    this.held = undefined;
    if (this.heldTimer !== undefined) clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    this.enqueue(held);
  }

  private enqueue(run: () => void): void {
    const due = Math.max(performance.now() + sampleLatency(this.faults), this.lastDue);
    this.lastDue = due;
    this.items.push({ due, run });
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    const head = this.items[0];
    if (head === undefined) return;
    this.scheduled = true;
    const wait = head.due - performance.now();
    if (wait <= 0) {
      queueMicrotask(() => this.drain());
    } else {
      this.timer = setTimeout(() => this.drain(), Math.ceil(wait));
    }
  }

  private drain(): void {
    this.scheduled = false;
    this.timer = undefined;
    // One millisecond of slack: timers may fire a fraction early relative to performance.now().
    const until = performance.now() + 1;
    while (!this.stopped) {
      const head = this.items[0];
      if (head === undefined || head.due > until) break;
      this.items.shift();
      try {
        head.run();
      } catch (error) {
        // A listener bug must not stall delivery; surface it as an uncaught error instead.
        setTimeout(() => {
          throw error;
        });
      }
    }
    this.schedule();
  }
}
