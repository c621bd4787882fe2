import { PerchError, type ConnectionStatus, type PerchClient, type PresenceShow, type User } from '@perch/core';
import { buddyList, PRESENCE_LABELS } from './buddy-list.js';
import { chatView } from './chat-view.js';
import { el, type Cleanup, type View } from './element.js';
import { feedView } from './feed-view.js';

const CHOOSABLE: ReadonlyArray<Exclude<PresenceShow, 'offline'>> = ['online', 'away', 'dnd', 'invisible'];

/** What the connection pill says for each state. */
export function describeStatus(status: ConnectionStatus): string {
  switch (status.state) {
    case 'online':
      return 'Online';
    case 'connecting':
      return 'Connecting…';
    case 'reconnecting': {
      const seconds = Math.max(0, Math.ceil(((status.retryAt ?? Date.now()) - Date.now()) / 1000));
      return `Reconnecting in ${seconds} s (attempt ${status.attempt})`;
    }
    case 'offline':
      return status.error ? `Offline: ${status.error.message}` : 'Offline';
  }
}

/**
 * One person's side of the demo: connection status, presence, buddy list, the direct chat with
 * `other`, and the feed. It connects `client` and finds (or opens) the direct conversation.
 */
export function personPanel(client: PerchClient, me: User, other: User): View {
  const prefix = `perch-demo-${me.id}`;
  const pill = el('span', { class: 'connection', role: 'status', 'data-state': 'offline' }, 'Offline');
  const notice = el('p', { class: 'notice', role: 'alert' });
  const buddies = buddyList(client, `${prefix}-buddies`);
  const chat = chatView(client, me, other, `${prefix}-chat`);
  const feed = feedView(client, me, prefix);
  const presence = presenceForm(client, prefix, (error) => (notice.textContent = error));
  const element = el(
    'section',
    { class: 'panel', 'data-panel': me.id, 'aria-labelledby': `${prefix}-name` },
    el(
      'header',
      { class: 'panel-header' },
      el('h2', { id: `${prefix}-name` }, me.name.split(' ')[0]!),
      el('span', { class: 'panel-role' }, [me.title, me.department].filter(Boolean).join(', ')),
      pill,
    ),
    presence.form,
    notice,
    el('div', { class: 'panel-grid' }, buddies.element, chat.element),
    feed.element,
  );

  const cleanups: Cleanup[] = [buddies.destroy, chat.destroy, feed.destroy];
  let ticker: ReturnType<typeof setInterval> | undefined;
  let opening = false;
  const showStatus = (status: ConnectionStatus) => {
    pill.dataset.state = element.dataset.connection = status.state;
    pill.textContent = describeStatus(status);
    pill.title = status.error && status.state !== 'offline' ? `Last error: ${status.error.message}` : '';
  };
  cleanups.push(
    client.status.subscribe((status) => {
      showStatus(status);
      // Keep the "reconnecting in N s" countdown moving.
      clearInterval(ticker);
      if (status.state === 'reconnecting') ticker = setInterval(() => showStatus(client.status.get()), 500);
      if (status.state === 'online') presence.flush();
      if (status.state === 'online' && !opening) {
        // The conversation normally arrives with the resume; open it if it does not exist yet.
        opening = true;
        client
          .openDirect(other.id)
          .then((c) => chat.open(c.id))
          .catch(() => (opening = false));
      }
    }),
    client.conversations.subscribe((list) => {
      const direct = list.find((c) => c.kind === 'direct' && c.members.includes(other.id));
      if (direct) chat.open(direct.id);
    }),
    client.on('error', (error) => (notice.textContent = error.message)),
    client.on('storage', (info) => {
      if (info.reason) notice.textContent = info.reason;
    }),
    () => clearInterval(ticker),
  );
  client.connect().catch((error: unknown) => {
    notice.textContent = error instanceof PerchError ? error.message : String(error);
  });
  return { element, destroy: () => cleanups.splice(0).forEach((stop) => stop()) };
}

/**
 * The availability selector and the personal status message ("In a meeting"). Presence needs a
 * connection, so a choice made offline is kept and applied by `flush()` once back online.
 */
function presenceForm(client: PerchClient, prefix: string, report: (error: string) => void): { form: HTMLFormElement; flush(): void } {
  const show = el(
    'select',
    { id: `${prefix}-show`, name: 'show' },
    ...CHOOSABLE.map((value) => el('option', { value }, PRESENCE_LABELS[value])),
  );
  const status = el('input', {
    id: `${prefix}-status`,
    name: 'status',
    type: 'text',
    maxlength: 280,
    placeholder: 'Personal message, e.g. "In a meeting"',
  });
  const form = el(
    'form',
    { class: 'presence', 'aria-label': 'Your presence' },
    el('label', { for: show.id }, 'Show me as'),
    show,
    el('label', { for: status.id, class: 'visually-hidden' }, 'Personal message'),
    status,
    el('button', { type: 'submit' }, 'Set'),
  );
  let unsent = false;
  const apply = () => {
    unsent = false;
    const choice = CHOOSABLE.find((value) => value === show.value) ?? 'online';
    client.setPresence({ show: choice, status: status.value.trim() }).then(
      () => report(''),
      (error: unknown) => {
        unsent = error instanceof PerchError && error.code === 'unavailable';
        if (unsent) report('You are offline; your presence will be set once you are back online.');
        else report(error instanceof PerchError ? `Presence not saved: ${error.message}` : String(error));
      },
    );
  };
  show.addEventListener('change', apply);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    apply();
  });
  return {
    form,
    flush: () => {
      if (unsent) apply();
    },
  };
}
