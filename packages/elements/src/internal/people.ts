import { html, type ReactiveControllerHost, type TemplateResult } from 'lit';
import type { Id, PerchClient, RosterEntry, User } from '@perch/core';
import { safeUrl } from './linkify.js';

const indexes = new WeakMap<RosterEntry[], Map<Id, RosterEntry>>();
const fetched = new WeakMap<PerchClient, Map<Id, User | null | undefined>>();

/** The roster entry of `id`, through an index built once per roster value. */
export function rosterEntry(client: PerchClient, id: Id): RosterEntry | undefined {
  const roster = client.roster.get();
  let index = indexes.get(roster);
  if (!index) indexes.set(roster, (index = new Map(roster.map((e) => [e.user.id, e]))));
  return index.get(id);
}

/**
 * What the client knows of a user: the signed-in user, a contact, or a profile fetched once
 * with `client.profile()` (the host re-renders when it arrives; a failure is retried on a later
 * render, e.g. once back online); undefined until known, null when there is no such user.
 */
export function findUser(client: PerchClient, id: Id, host: ReactiveControllerHost): User | null | undefined {
  const me = client.user.get();
  if (me?.id === id) return me;
  const known = rosterEntry(client, id)?.user;
  if (known) return known;
  let cache = fetched.get(client);
  if (!cache) fetched.set(client, (cache = new Map()));
  if (!cache.has(id)) {
    cache.set(id, undefined);
    const found = (user: User | null) => {
      cache.set(id, user);
      host.requestUpdate();
    };
    client.profile(id).then(found, (error: { code?: string }) => (error.code === 'not_found' ? found(null) : cache.delete(id)));
  }
  return cache.get(id);
}

/** Up to two initials from the first letters or digits of the first two words. */
export const initials = (name: string): string =>
  name
    .split(/\s+/)
    .map((word) => word.match(/[\p{L}\p{N}]/u)?.[0])
    .filter(Boolean)
    .slice(0, 2)
    .join('')
    .toUpperCase();

/** The user's photo (http or https only, alt = name) or their initials. */
export const avatar = (user: User | null | undefined, name: string): TemplateResult => {
  // An http(s) URL, or a path such as "/avatars/ada.png": a photo on the page's own site.
  const path = user?.avatar?.match(/^\/(?![/\\])/);
  const src = safeUrl(user?.avatar, /^https?:$/, path ? document.baseURI : undefined);
  return src
    ? html`<img class="av" part="avatar" src=${src} alt=${name}>`
    : html`<span class="av" part="avatar" aria-hidden="true">${initials(name)}</span>`;
};
