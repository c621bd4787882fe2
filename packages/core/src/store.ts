/**
 * A value that can be read and watched. Compatible with Svelte's store contract: `subscribe`
 * calls the callback at once with the current value, then on every change, and returns the
 * function that stops it.
 */
export interface ReadableStore<T> {
  /** The current value. */
  get(): T;
  /** Calls `callback` now and after every change; returns the unsubscribe function. */
  subscribe(callback: (value: T) => void): () => void;
}

/** A store the core itself writes to. */
export interface WritableStore<T> extends ReadableStore<T> {
  set(value: T): void;
}

/** Creates a store holding `initial`. Setting the same value again notifies nobody. */
export function atom<T>(initial: T): WritableStore<T> {
  let value = initial;
  const listeners = new Set<(value: T) => void>();
  return {
    get: () => value,
    set(next) {
      if (Object.is(next, value)) return;
      value = next;
      for (const listener of [...listeners]) listener(value);
    },
    subscribe(callback) {
      listeners.add(callback);
      callback(value);
      return () => listeners.delete(callback);
    },
  };
}
