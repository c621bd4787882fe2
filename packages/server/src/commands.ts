/**
 * One handler per command of the protocol, mapping validated arguments onto the services. The
 * mapped type makes the compiler check that every command in `Commands` has a handler with the
 * right argument and result types.
 */
import type { CommandName, Commands } from '@perch/protocol';
import type { ChatService } from './services/chat.js';
import type { Caller } from './services/context.js';
import type { FeedService } from './services/feed.js';
import type { SocialService } from './services/social.js';

/** A command's handler: validated arguments in, the result the `res` frame carries out. */
export type Handler<N extends CommandName> = (caller: Caller, args: Commands[N]['args']) => Promise<Commands[N]['result']>;

/** Every command's handler, but `reauth`: the session runs it (it changes the connection, not the data). */
export type CommandTable = { [N in Exclude<CommandName, 'reauth'>]: Handler<N> };

/** The services the commands run on. */
export interface Services {
  chat: ChatService;
  social: SocialService;
  feed: FeedService;
}

/** Builds the command table over `services`. */
export function commandTable({ chat, social, feed }: Services): CommandTable {
  return {
    sendMessage: (caller, args) => chat.send(caller, args),
    editMessage: (caller, args) => chat.edit(caller, args),
    deleteMessage: (caller, args) => chat.remove(caller, args),
    conversations: (caller) => chat.list(caller),
    history: (caller, args) => chat.history(caller, args),
    openDirect: (caller, args) => chat.openDirect(caller, args),
    createGroup: (caller, args) => chat.createGroup(caller, args),
    markRead: (caller, args) => chat.mark(caller, args, 'read'),
    markDelivered: (caller, args) => chat.mark(caller, args, 'delivered'),
    setTyping: (caller, args) => chat.typing(caller, args),
    roster: (caller) => social.roster(caller),
    addContact: (caller, args) => social.addContact(caller, args),
    removeContact: (caller, args) => social.removeContact(caller, args),
    directory: (caller) => social.directory(caller),
    profile: (caller, args) => social.profile(caller, args),
    setPresence: (caller, args) => social.setPresence(caller, args),
    post: (caller, args) => feed.publish(caller, args),
    feed: (caller, args) => feed.page(caller, args),
    like: (caller, args) => feed.like(caller, args),
    follow: (caller, args) => feed.follow(caller, args),
  };
}
