import type { ReactiveController, ReactiveElement } from 'lit';

/** Pixels rendered beyond each edge of the viewport. */
const OVERSCAN = 400;

/**
 * Renders only the items in view (plus {@link OVERSCAN}), for the buddy list, the chat log and
 * the feed. Why our own and not `@lit-labs/virtualizer`: that one alone is ~7.5 KiB brotli, and
 * all of `@perch/elements` — Lit and the core included — must stay within 20 KiB; this one is
 * about 1 KiB and does what the three lists need:
 *
 * - variable heights, measured after each render and by a ResizeObserver (images, fonts,
 *   width changes), with `estimate` for items never rendered;
 * - a window of visible items plus overscan, the rest stood in for by the list's block-start
 *   and block-end padding (no spacer elements inside ARIA lists);
 * - the scroll anchored on the bottom edge of the first visible item across updates, so
 *   prepending older items, a measured height above the viewport, or the item itself losing a
 *   header (a day separator once older messages arrive) never moves what the reader sees;
 * - `stick`: pinned to the end while the reader is there (chat);
 * - a roving tab stop (`tabIndex`) on the item that last had the focus, which keeps it while the
 *   window moves (rendering is positional, so a focused element may come to show another item);
 *   `scrollToIndex`, and `focusIndex` and `move` for keyboard navigation.
 *
 * The host renders one scroll container with class `v` (`overflow-y: auto`, bounded height)
 * whose first element child is the list: its children are exactly the items
 * `keys.slice(start, end)`, in order and without vertical margins. It calls `window(keys)` in
 * `render()`.
 */
export class Virtualizer implements ReactiveController {
  /** The first rendered item. */
  declare start: number;
  /** One past the last rendered item. */
  declare end: number;
  /** The item that holds the tab stop (its index, found again on each render), or -1. */
  declare active: number;
  #activeKey: string | undefined;
  #focusPending = false;
  /** Where the focus was before the render: in the item (-1) or its `n`th descendant; else undefined. */
  #inner: number | undefined;
  readonly #host: ReactiveElement;
  readonly #estimate: number;
  readonly #stick: boolean;
  readonly #heights = new Map<string, number>();
  readonly #keyOf = new WeakMap<Element, string>();
  #keys: string[] = [];
  #el: HTMLElement | undefined;
  #list: HTMLElement | undefined;
  /** The first visible item and where its bottom edge was, relative to the viewport top. */
  #anchor: [key: string, bottom: number] | undefined;
  #atEnd = true;
  #pad = '';
  #target: number | undefined;
  readonly #resized = new ResizeObserver((entries) => {
    const el = this.#el!;
    let shift = 0;
    let changed = false;
    for (const { target } of entries) {
      const key = this.#keyOf.get(target);
      const height = (target as HTMLElement).offsetHeight;
      const old = this.#heights.get(key!);
      if (key === undefined || !target.isConnected || old === height) continue;
      changed = true;
      this.#heights.set(key, height);
      // Growth above the viewport would push the visible items down: scroll along with it.
      if (old !== undefined && (target as HTMLElement).offsetTop < el.scrollTop) shift += height - old;
    }
    if (!changed) return;
    if (this.#stick && this.#atEnd) el.scrollTop = el.scrollHeight;
    else el.scrollTop += shift;
    this.#host.requestUpdate();
  });

  constructor(host: ReactiveElement, estimate: number, stick = false) {
    // Set here, not as initialisers: a public field's initialiser would move every private one into
    // the constructor too (useDefineForClassFields: false), each name shipped twice.
    this.start = this.end = 0;
    this.active = -1;
    this.#host = host;
    this.#estimate = estimate;
    this.#stick = stick;
    host.addController(this);
  }

  #size(key: string): number {
    return this.#heights.get(key) ?? this.#estimate;
  }

  #offset(index: number): number {
    let y = 0;
    for (let i = 0; i < index; i++) y += this.#size(this.#keys[i]!);
    return y;
  }

  /** Chooses the items to render for `keys` (sets `start` and `end`). Call it in `render()`. */
  window(keys: string[]): void {
    const el = this.#el;
    const view = el?.clientHeight || 1000;
    this.#keys = keys;
    if (this.#focusPending) this.#activeKey = keys[this.active];
    else this.active = keys.indexOf(this.#activeKey!);
    const total = this.#offset(keys.length);
    let top = el?.scrollTop ?? 0;
    if (el && this.#stick && this.#atEnd) top = total - view;
    else if (this.#anchor) {
      const index = keys.indexOf(this.#anchor[0]);
      if (index >= 0) top = this.#offset(index + 1) - this.#anchor[1];
    }
    top = Math.max(0, top);
    let y = 0;
    let i = 0;
    while (i < keys.length && y + this.#size(keys[i]!) <= top - OVERSCAN) y += this.#size(keys[i++]!);
    this.start = i;
    const before = y;
    while (i < keys.length && y < top + view + OVERSCAN) y += this.#size(keys[i++]!);
    this.end = i;
    this.#pad = `${before}px ${total - y}px`;
    this.#target = el && top;
  }

  /** The `tabindex` of item `index`: 0 for the active item, or the first rendered one; else -1. */
  tabIndex(index: number): number {
    return index === (this.active >= this.start && this.active < this.end ? this.active : this.start) ? 0 : -1;
  }

  /** The index of the rendered item that contains `node` (an event's target), or -1. */
  indexOf(node: EventTarget | null): number {
    const index = [...this.#list!.children].findIndex((item) => item.contains(node as Node));
    return index < 0 ? -1 : this.start + index;
  }

  /** True while the reader is at the end (updated on every scroll). */
  get atEnd(): boolean {
    return this.#atEnd;
  }

  /** True when the reader is within a viewport of the start (`end = false`) or the end. */
  near(end: boolean): boolean {
    const el = this.#el;
    return !!el && (end ? el.scrollHeight - el.scrollTop - el.clientHeight : el.scrollTop) < el.clientHeight;
  }

  /** Scrolls just enough to show item `index`; the host re-renders with it in the window. */
  scrollToIndex(index: number): void {
    const el = this.#el;
    if (!el) return;
    const y = this.#offset(index);
    const bottom = y + this.#size(this.#keys[index]!) - el.clientHeight;
    el.scrollTop = Math.min(Math.max(el.scrollTop, bottom), y);
    this.#anchor = undefined;
    this.#atEnd = this.#isAtEnd();
    this.#host.requestUpdate();
  }

  /** Makes item `index` active, scrolls it into view and focuses it after the next render. */
  focusIndex(index: number): Promise<boolean> {
    this.active = index;
    this.#focusPending = true;
    this.scrollToIndex(index);
    return this.#host.updateComplete;
  }

  /**
   * A keydown handler's helper: a key of `steps` moves the focus that many items on (-1: back;
   * from the list itself, to the last item) and is taken; other keys are left alone.
   */
  move(event: KeyboardEvent, steps: Record<string, number>): void {
    // (No key value is the name of an Object.prototype member.)
    const step = steps[event.key]!;
    const index = this.indexOf(event.target);
    const target = index < 0 ? this.#keys.length - 1 : index + step;
    if (step && this.#keys[target]) {
      event.preventDefault();
      void this.focusIndex(target);
    }
  }

  #isAtEnd(): boolean {
    const el = this.#el!;
    return el.scrollHeight - el.scrollTop - el.clientHeight < 4;
  }

  hostUpdate(): void {
    const el = this.#el;
    this.#anchor = undefined;
    if (!el) return;
    const focused = (this.#host.renderRoot as ShadowRoot).activeElement;
    const at = this.#list!.children[this.indexOf(focused) - this.start];
    this.#inner = at && [...at.querySelectorAll('*')].indexOf(focused!);
    // A list read from its very top shows what is added above (the chat, at its top to load
    // older messages, keeps them in place).
    if (!this.#stick && !el.scrollTop) return;
    for (const child of this.#list!.children as HTMLCollectionOf<HTMLElement>) {
      const bottom = child.offsetTop + child.offsetHeight - el.scrollTop;
      if (bottom > 0) {
        this.#anchor = [this.#keyOf.get(child)!, bottom];
        break;
      }
    }
  }

  hostUpdated(): void {
    let el = this.#el;
    if (!el) {
      el = this.#el = this.#host.renderRoot.querySelector<HTMLElement>('.v')!;
      el.addEventListener(
        'scroll',
        () => {
          this.#atEnd = this.#isAtEnd();
          this.#host.requestUpdate();
        },
        { passive: true },
      );
      // The item given the focus (a click, Tab) takes the tab stop.
      el.addEventListener('focusin', (event) => {
        const index = this.indexOf(event.target);
        if (index >= 0 && index !== this.active) {
          this.#activeKey = this.#keys[index];
          this.#host.requestUpdate();
        }
      });
    }
    const list = (this.#list = el.firstElementChild as HTMLElement);
    list.style.paddingBlock = this.#pad;
    // Observe exactly the rendered items (not the ones that left the window).
    this.#resized.disconnect();
    let i = this.start;
    for (const child of list.children) {
      const key = this.#keys[i++]!;
      this.#keyOf.set(child, key);
      this.#heights.set(key, (child as HTMLElement).offsetHeight);
      this.#resized.observe(child);
    }
    // Rendering is positional: when the window moves, the focus follows its item (or the same
    // control in it) to where that item is rendered now. Removed from under the reader (a Retry
    // that did its job), it goes to the item, or to the list when items take no focus.
    const root = this.#host.renderRoot as ShadowRoot;
    const item = list.children[this.active - this.start] as HTMLElement | undefined;
    const inner = this.#inner;
    if (item && (this.#focusPending || (inner !== undefined && !item.contains(root.activeElement)))) {
      if (!this.#focusPending) (item.querySelectorAll('*')[inner!] as HTMLElement | undefined)?.focus({ preventScroll: true });
      if (!item.contains(root.activeElement)) (item.getAttribute('tabindex') ? item : list).focus({ preventScroll: true });
      this.#focusPending = false;
    }
    if (this.#stick && this.#atEnd) {
      el.scrollTop = el.scrollHeight;
      return;
    }
    if (this.#target !== undefined) el.scrollTop = this.#target;
    // Measured heights may differ from the estimates used above: keep the anchor where it was.
    const anchor = this.#anchor;
    for (const child of list.children as HTMLCollectionOf<HTMLElement>) {
      if (anchor && this.#keyOf.get(child) === anchor[0]) el.scrollTop += child.offsetTop + child.offsetHeight - el.scrollTop - anchor[1];
    }
  }
}
