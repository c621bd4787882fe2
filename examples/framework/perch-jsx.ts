/**
 * The Perch custom elements in React's JSX, typed. React 19 sets a prop as a PROPERTY when the
 * element has a property of that name (`client`, `with`, `mentionHref`…; the elements must be
 * defined before React creates them, so import '@perch/elements/define' first), else as an
 * attribute (`theme`). A prop `on<event-name>` adds a listener for that exact event name, so
 * `onperch-open-chat` listens to `perch-open-chat`.
 */
import type { DetailedHTMLProps, HTMLAttributes } from 'react';
import type { PerchBuddyList, PerchChatPane, PerchFeed, PerchProfileCard, PerchProvider, PerchStatusBox } from '@perch/elements';

/** A Perch event listener prop: `on` + the event's name, e.g. `onperch-open-chat`. */
type Listeners<Name extends keyof HTMLElementEventMap> = {
  [K in Name as `on${K}`]?: (event: HTMLElementEventMap[K]) => void;
};

/** What every Perch element takes in JSX: React's HTML props, the element's own, and its events. */
type PerchProps<E extends HTMLElement, Own extends keyof E, Events extends keyof HTMLElementEventMap = never> = DetailedHTMLProps<HTMLAttributes<E>, E> &
  Partial<Pick<E, Own>> &
  Listeners<Events> & {
    /** Pins the colour scheme (an attribute); without it the component follows the system. */
    theme?: 'light' | 'dark';
  };

declare module 'react' {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace JSX {
    interface IntrinsicElements {
      'perch-provider': PerchProps<PerchProvider, 'client'>;
      'perch-status-box': PerchProps<PerchStatusBox, 'client' | 'limit', 'perch-posted'>;
      'perch-feed': PerchProps<PerchFeed, 'client' | 'source' | 'mentionHref' | 'tagHref'>;
      'perch-buddy-list': PerchProps<PerchBuddyList, 'client' | 'mode', 'perch-open-chat' | 'perch-open-profile'>;
      'perch-chat-pane': PerchProps<PerchChatPane, 'client' | 'conversation' | 'with' | 'mentionHref' | 'tagHref'>;
      'perch-profile-card': PerchProps<PerchProfileCard, 'client' | 'userId', 'perch-open-chat'>;
    }
  }
}
