// The public face of @perch/elements. Importing it registers nothing: import
// '@perch/elements/define' (every tag) or a component's `*.define.js` for that.
export { clientContext, provideClient } from './context.js';
export type { PostedEventDetail, UserEventDetail } from './internal/events.js';
export { PerchElement } from './internal/perch-element.js';
export { define } from './internal/register.js';
export { StoreController, type ClientHost } from './internal/store-controller.js';
export { Virtualizer } from './internal/virtualizer.js';
export { linkify, type LinkTemplates } from './internal/linkify.js';
export { PerchProvider } from './provider/provider.component.js';
export { PerchProfileCard } from './profile-card/profile-card.component.js';
export { PerchStatusBox } from './status-box/status-box.component.js';
export { PerchBuddyList } from './buddy-list/buddy-list.component.js';
export { PerchChatPane } from './chat-pane/chat-pane.component.js';
export { PerchFeed } from './feed/feed.component.js';
