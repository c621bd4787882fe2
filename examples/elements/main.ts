/**
 * The Perch components on one page, signed in as Alice, over the in-page memory hub of the
 * memory-chat demo (same company, same people). Bob answers what you write to him; the language
 * and theme pickers switch every component at once.
 */
import { memoryBackend } from '@perch/backend-memory';
import { createClient, type Id, type PerchClient } from '@perch/core';
import type { PerchChatPane, PerchProfileCard, PerchProvider, UserEventDetail } from '@perch/elements';
import '@perch/elements/define';
import { setPerchLocale, type PerchLocale } from '@perch/elements/localization';
import { createDemoHub } from '../memory-chat/demo-hub.js';

const hub = createDemoHub();

function clientOf(userId: Id): PerchClient {
  return createClient({ backend: memoryBackend({ hub }), auth: { token: hub.token(userId) }, user: userId, storage: 'memory', tabs: 'single' });
}

// Colleagues at their desks. Bob answers Alice after a moment.
const colleagues: Array<[Id, 'online' | 'away' | 'dnd', string]> = [
  ['bob', 'away', 'Sketching the new onboarding'],
  ['carol', 'dnd', 'On a call with a customer'],
];
for (const [id, show, status] of colleagues) {
  const client = clientOf(id);
  client
    .connect()
    .then(() => client.setPresence({ show, status }))
    .catch(() => {});
  if (id === 'bob') {
    client.on('message', (message) => {
      if (message.senderId !== 'alice') return;
      void client.setTyping(message.conversationId, true);
      setTimeout(() => client.send(message.conversationId, `You said “${message.text}”. Noted!`), 1200);
    });
  }
}

const alice = clientOf('alice');
const $ = <E extends Element>(selector: string) => document.querySelector<E>(selector)!;
$<PerchProvider>('perch-provider').client = alice;
alice.connect().catch((error: unknown) => console.error(error));

const chat = $<PerchChatPane>('perch-chat-pane');
const card = $<PerchProfileCard>('perch-profile-card');

// The page decides where a chat opens: here, in the one chat pane, with the person's card beside it.
document.addEventListener('perch-open-chat', (event: CustomEvent<UserEventDetail>) => {
  event.preventDefault();
  chat.conversation = undefined;
  chat.with = card.userId = event.detail.userId;
});
document.addEventListener('perch-open-profile', (event: CustomEvent<UserEventDetail>) => {
  card.userId = event.detail.userId;
});

$<HTMLSelectElement>('#language').addEventListener('change', async (event) => {
  const locale = (event.target as HTMLSelectElement).value as PerchLocale;
  await setPerchLocale(locale);
  document.documentElement.lang = locale;
  document.documentElement.dir = locale === 'ar' ? 'rtl' : 'ltr';
});
$<HTMLSelectElement>('#theme').addEventListener('change', (event) => {
  const theme = (event.target as HTMLSelectElement).value;
  for (const element of document.querySelectorAll('perch-provider *')) {
    if (!element.localName.startsWith('perch-')) continue;
    if (theme) element.setAttribute('theme', theme);
    else element.removeAttribute('theme');
  }
});
