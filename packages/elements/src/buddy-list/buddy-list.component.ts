import { msg, str } from '../internal/localize.js';
import { html, type TemplateResult } from 'lit';
import type { Id, PerchClient, Presence, User } from '@perch/core';
import { emit } from '../internal/events.js';
import { rosterEntry } from '../internal/people.js';
import { PerchElement } from '../internal/perch-element.js';
import { banner, presenceLine } from '../internal/status.js';
import { StoreController } from '../internal/store-controller.js';
import { base } from '../internal/styles.js';
import { Virtualizer } from '../internal/virtualizer.js';
import { styles } from './buddy-list.styles.js';

/** One row of the flattened tree: a group header, or a person (`user`) in it. */
interface Row {
  key: string;
  group: string;
  /** Position among its siblings, and their number (aria-posinset / aria-setsize). */
  pos: number;
  size: number;
  user?: User;
  presence?: Presence;
  /** Online people and everyone in a group, for its header. */
  online?: number;
  count?: number;
}

const RANK = { online: 0, dnd: 1, away: 2, invisible: 3, offline: 3 };

/**
 * Your contacts (or the whole organisation) in collapsible groups, with presence, personal
 * messages, last seen and unread counts; online people first.
 *
 * A WAI-ARIA tree with a roving tabindex: ↑/↓ move, → opens a group or enters it, ← closes it or
 * goes up to it, Home/End, Enter opens a chat (or toggles a group), Shift+F10 or the context-menu
 * key (or a right click) asks for the person's profile. Type-ahead: typing a name's first letters
 * in the list moves to the next person or group that starts with them (letters typed within half
 * a second add up; the same letter again goes on to the next match; it wraps around). Typing in
 * the search field filters as you type; ↓ moves from it into the list. Only the rows in view are
 * rendered (10,000 are fine).
 *
 * @summary The buddy list: contacts or the directory in groups, with presence and unread counts.
 *
 * @event {CustomEvent<UserEventDetail>} perch-open-chat - Enter or click on a person (`detail.userId`). Cancel it to open the chat your own way; otherwise the list calls `client.openDirect(userId)`.
 * @event {CustomEvent<UserEventDetail>} perch-open-profile - Shift+F10, the context-menu key or a right click on a person (`detail.userId`).
 *
 * @csspart search - The search field.
 * @csspart list - The scrolling list.
 * @csspart group - A group header row.
 * @csspart person - A person's row.
 * @csspart badge - An unread count.
 * @csspart banner - The connection state line.
 * @csspart presence-dot - A person's presence colour dot.
 * @csspart status-message - A person's personal status message.
 *
 * @cssproperty --perch-height - The height when the page gives the element none (default 30em).
 */
export class PerchBuddyList extends PerchElement {
  static override styles = [base, styles];
  static override properties = { mode: {} };

  /** `contacts` (default): your buddy list by your groups; `directory`: everyone, by department. */
  declare mode: 'contacts' | 'directory';
  readonly #roster = new StoreController(this, (client) => client.roster);
  readonly #conversations = new StoreController(this, (client) => client.conversations);
  readonly #status = new StoreController(this, (client) => client.status);
  readonly #v = new Virtualizer(this, 48);
  readonly #collapsed = new Set<string>();
  #query = '';
  #rows: Row[] = [];
  #inputs: unknown[] = [];
  #directory: User[] | undefined;
  #directoryOf: PerchClient | undefined;
  /** What was typed for type-ahead, and when. */
  #typed = '';
  #typedAt = 0;
  /** The tree's name, also the name of the group of people in no group. */
  #label = '';

  constructor() {
    super();
    this.mode = 'contacts';
  }

  protected override willUpdate(): void {
    const client = this.perch;
    if (this.mode === 'directory' && client && this.#status.value?.state === 'online' && this.#directoryOf !== client) {
      this.#directoryOf = client;
      client.directory().then(
        (users) => {
          this.#directory = users;
          this.requestUpdate();
        },
        () => (this.#directoryOf = undefined),
      );
    }
    const inputs = [client, this.mode, this.#roster.value, this.#directory, this.#query, this.#collapsed.size];
    if (inputs.some((input, i) => input !== this.#inputs[i])) {
      this.#inputs = inputs;
      this.#rows = this.#build(client);
    }
  }

  /** Groups, filters and flattens the people into rows; collapsed groups keep only their header. */
  #build(client: PerchClient | undefined): Row[] {
    if (!client) return [];
    const query = this.#query.trim().toLocaleLowerCase();
    const people =
      this.mode === 'directory'
        ? (this.#directory ?? [])
            .map((user) => ({ user, presence: rosterEntry(client, user.id)?.presence ?? client.presence(user.id) ?? { userId: user.id, show: 'offline' as const }, groups: [user.department ?? ''] }))
            .sort((a, b) => RANK[a.presence.show] - RANK[b.presence.show] || a.user.name.localeCompare(b.user.name))
        : (this.#roster.value ?? []);
    const groups = new Map<string, Row[]>();
    for (const { user, presence, groups: names } of people) {
      if (query && !searchText(user).includes(query) && !presence.status?.toLocaleLowerCase().includes(query)) continue;
      for (const group of names.length ? names : ['']) {
        let members = groups.get(group);
        if (!members) groups.set(group, (members = []));
        members.push({ key: `${group}\n${user.id}`, group, pos: members.length + 1, size: 0, user, presence });
      }
    }
    const rows: Row[] = [];
    let pos = 0;
    for (const [group, members] of groups) {
      const online = members.filter((r) => r.presence!.show !== 'offline').length;
      rows.push({ key: group, group, pos: ++pos, size: groups.size, online, count: members.length });
      if (!this.#open(group)) continue;
      for (const row of members) {
        row.size = members.length;
        rows.push(row);
      }
    }
    return rows;
  }

  protected override render(): TemplateResult {
    const rows = this.#rows;
    const v = this.#v;
    v.window(rows.map((row) => row.key));
    const visible = rows.slice(v.start, v.end);
    const unread = new Map<Id | undefined, number>();
    const me = this.perch?.user.get()?.id;
    for (const c of this.#conversations.value ?? []) {
      if (c.kind === 'direct') unread.set(c.members.find((id) => id !== me), c.unread);
    }
    const search = msg('Search people');
    const label = (this.#label = this.mode === 'directory' ? msg('Directory') : msg('Contacts'));
    // The templates break lines only inside `${}`: whitespace between tags would be bytes shipped.
    return html`<div class="f">${banner(this.#status.value)}<input type="search" part="search" aria-label=${search} placeholder=${search} .value=${
      this.#query
    } @input=${this.#input} @keydown=${this.#searchKey}><div class="v" part="list"><div role="tree" aria-label=${label} @keydown=${this.#key} @click=${
      this.#activate
    } @contextmenu=${this.#context}>${visible.map((row, i) => {
      const count = unread.get(row.user?.id) ?? 0;
      const tab = v.tabIndex(v.start + i);
      return row.user
        ? html`<div class="row r" role="treeitem" part="person" aria-level="2" aria-posinset=${row.pos} aria-setsize=${
            row.size
          } aria-keyshortcuts="Shift+F10" tabindex=${tab}><span class="name u">${row.user.name}</span>${
            count ? html`<span class="badge" part="badge"><span aria-hidden="true">${count}</span><span class="sr">${msg(str`${count} unread`)}</span></span>` : ''
          }<span class="row mu">${presenceLine(row.presence!)}</span></div>`
        : html`<div class="row r" role="treeitem" part="group" aria-level="1" aria-expanded=${this.#open(row.group)} aria-posinset=${
            row.pos
          } aria-setsize=${row.size} tabindex=${tab}><span class="name u">${row.group || label}</span><span class="mu">${row.online}/${row.count}</span></div>`;
    })}</div></div>${
      rows.length ? '' : html`<p class="empty mu">${this.#query ? msg('No one matches your search.') : msg('No one here yet.')}</p>`
    }</div>`;
  }

  /** Whether a group shows its people (always, while searching). */
  #open(group: string): boolean {
    return !this.#collapsed.has(group) || !!this.#query;
  }

  #input(event: Event): void {
    this.#query = (event.target as HTMLInputElement).value;
    this.requestUpdate();
  }

  #searchKey(event: KeyboardEvent): void {
    if (event.key === 'ArrowDown' && this.#rows.length) {
      event.preventDefault();
      this.#focus(Math.max(0, this.#v.active));
    }
  }

  /** Makes row `index` the tab stop, scrolls it into view and focuses it; no row, no change. */
  #focus(index = -1): void {
    if (this.#rows[index]) void this.#v.focusIndex(index);
  }

  /** Enter, Space or a click on a row (←/→ on a group): opens a chat, or opens or closes the group. */
  #activate(event: Event): void {
    const index = this.#v.indexOf(event.target);
    const row = this.#rows[index];
    const user = row?.user;
    if (user) {
      if (emit(this, 'perch-open-chat', { userId: user.id })) this.perch?.openDirect(user.id).catch(() => {});
    } else if (row) {
      if (!this.#collapsed.delete(row.group)) this.#collapsed.add(row.group);
      this.#focus(index);
    }
  }

  #context(event: Event): void {
    const user = this.#rows[this.#v.indexOf(event.target)]?.user;
    if (user) {
      event.preventDefault();
      emit(this, 'perch-open-profile', { userId: user.id });
    }
  }

  #key(event: KeyboardEvent): void {
    const { key } = event;
    const rows = this.#rows;
    const index = this.#v.indexOf(event.target);
    const row = rows[index];
    if (!row) return;
    // ↑/↓/Home/End (no key value is the name of an Object.prototype member).
    let target = ({ ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: rows.length - 1 } as Record<string, number | undefined>)[key];
    if (key === 'ArrowRight' || key === 'ArrowLeft') {
      // Right opens a group, or enters an open one; left closes a group, or goes up to it.
      const forward = (key === 'ArrowRight') !== (getComputedStyle(this).direction === 'rtl');
      if (row.user) target = forward ? -1 : index - row.pos;
      else if (forward === this.#open(row.group)) target = forward ? index + 1 : -1;
      else this.#activate(event);
    } else if (key === 'Enter' || key === ' ') this.#activate(event);
    else if (key === 'ContextMenu' || (key === 'F10' && event.shiftKey)) this.#context(event);
    else if (target === undefined) {
      // Type-ahead: a printable character, without Ctrl, Alt or ⌘, goes to the next row whose
      // name starts with what was typed. Characters less than 500 ms apart add up; the same one
      // again ("bb") goes on to the next match of "b"; the search wraps around.
      if (key.length > 1 || event.ctrlKey || event.altKey || event.metaKey) return;
      const char = key.toLocaleLowerCase();
      const typed = (this.#typed = (event.timeStamp - this.#typedAt < 500 ? this.#typed : '') + char);
      this.#typedAt = event.timeStamp;
      const same = !typed.replaceAll(char, '');
      const prefix = same ? char : typed;
      const matches = ({ user, group }: Row) => (user ? searchText(user) : (group || this.#label).toLocaleLowerCase()).startsWith(prefix);
      target = rows.findIndex((row, i) => i >= index + +same && matches(row));
      if (target < 0) target = rows.findIndex(matches);
    }
    event.preventDefault();
    this.#focus(target);
  }
}

const SEARCH_TEXT = new WeakMap<User, string>();

/** A user's searchable text, lower-cased once per user object (not once per keystroke). */
function searchText(user: User): string {
  let text = SEARCH_TEXT.get(user);
  if (text === undefined) SEARCH_TEXT.set(user, (text = [user.name, user.title, user.department].join('\n').toLocaleLowerCase()));
  return text;
}
