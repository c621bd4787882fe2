/**
 * Cache keys. Every key starts with a one-letter table prefix; numbers are zero-padded so that
 * string order is numeric order, and a conversation's messages read back in seq order.
 */
const pad = (n: number, width: number): string => String(n).padStart(width, '0');

export const keys = {
  schema: 'meta|schema',
  user: 'meta|user',
  conversation: (id: string) => `c|${id}`,
  conversations: 'c|',
  messages: (conversationId: string) => `m|${conversationId}|`,
  message: (conversationId: string, seq: number) => `m|${conversationId}|${pad(seq, 12)}`,
  outbox: 'o|',
  outboxEntry: (order: number, clientId: string) => `o|${pad(order, 18)}|${clientId}`,
  contacts: 'k|',
  contact: (userId: string) => `k|${userId}`,
  presences: 'p|',
  presence: (userId: string) => `p|${userId}`,
  users: 'u|',
  user_: (userId: string) => `u|${userId}`,
  posts: 'f|',
  post: (time: number, id: string) => `f|${pad(time, 15)}|${id}`,
} as const;
