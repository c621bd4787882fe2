import type { PerchClient, Presence, RosterEntry } from '@perch/core';
import { el, replaceChildren, timeElement, type View } from './element.js';

/** How each presence reads out loud and on screen. */
export const PRESENCE_LABELS: Record<Presence['show'], string> = {
  online: 'Online',
  away: 'Away',
  dnd: 'Busy',
  invisible: 'Invisible',
  offline: 'Offline',
};

/** The buddy list: the roster grouped by the user's own groups, each with presence and status message. */
export function buddyList(client: PerchClient, headingId: string): View {
  const list = el('ul', { class: 'buddies', 'aria-labelledby': headingId });
  const element = el('section', { class: 'card buddy-list' }, el('h3', { id: headingId }, 'Buddies'), list);
  const stop = client.roster.subscribe((roster) => render(list, roster));
  return { element, destroy: stop };
}

function render(list: HTMLUListElement, roster: RosterEntry[]): void {
  if (roster.length === 0) {
    replaceChildren(list, [el('li', { class: 'empty' }, 'No buddies yet.')]);
    return;
  }
  const groups = new Map<string, RosterEntry[]>();
  for (const entry of roster) {
    for (const group of entry.groups.length ? entry.groups : ['Contacts']) {
      groups.set(group, [...(groups.get(group) ?? []), entry]);
    }
  }
  replaceChildren(
    list,
    [...groups].map(([group, entries]) =>
      el(
        'li',
        { class: 'buddy-group' },
        el('span', { class: 'group-name' }, `${group} (${entries.filter((e) => e.presence.show !== 'offline').length}/${entries.length})`),
        el('ul', {}, ...entries.map(buddy)),
      ),
    ),
  );
}

function buddy({ user, presence }: RosterEntry): HTMLLIElement {
  const role = [user.title, user.department].filter(Boolean).join(', ');
  return el(
    'li',
    { class: 'buddy', 'data-user': user.id, 'data-presence': presence.show },
    el('span', { class: 'presence-dot', 'aria-hidden': 'true' }),
    el(
      'span',
      { class: 'buddy-text' },
      el('span', { class: 'buddy-name' }, user.name),
      el('span', { class: 'visually-hidden' }, `, ${PRESENCE_LABELS[presence.show]}`),
      role ? el('span', { class: 'buddy-role' }, role) : null,
      presence.status ? el('span', { class: 'buddy-status' }, presence.status) : null,
      presence.show === 'offline' && presence.lastSeen
        ? el('span', { class: 'buddy-seen' }, 'Last seen ', timeElement(presence.lastSeen))
        : null,
    ),
  );
}
