import { useCallback, useMemo, useState } from 'react';
import type { ConnectionState, Id, PerchClient, User } from '@perch/core';
import type { UserEventDetail } from '@perch/elements';
import { useClient, useStore } from './hooks.js';

const STATE_LABEL: Record<ConnectionState, string> = {
  offline: 'Offline',
  connecting: 'Connecting…',
  online: 'Online',
  reconnecting: 'Reconnecting…',
};

/** The connection state and the unread count, straight from the client's stores. */
function Connection({ client }: { client: PerchClient }) {
  const { state } = useStore(client.status);
  const unread = useStore(client.unread);
  return (
    <p className="connection">
      <span data-state={state}>{STATE_LABEL[state]}</span>
      {unread > 0 && <span className="unread">{unread} unread</span>}
    </p>
  );
}

export interface WorkspaceProps {
  me: User;
  people: readonly User[];
  onSignOut: () => void;
}

/**
 * Signed in as `me`: the status box and buddy list, a chat pane and profile card that open
 * from the buddy list's events, and the feed. Every Perch element gets the client as a property.
 */
export function Workspace({ me, people, onSignOut }: WorkspaceProps) {
  const { client, error } = useClient(me.id);
  const [chatWith, setChatWith] = useState<Id>();
  const [profileOf, setProfileOf] = useState<Id>();
  const names = useMemo(() => new Map(people.map((person) => [person.id, person.name])), [people]);

  // Cancelling perch-open-chat tells the element that the page opens the chat itself.
  const openChat = useCallback((event: CustomEvent<UserEventDetail>) => {
    event.preventDefault();
    setChatWith(event.detail.userId);
  }, []);
  const openProfile = useCallback((event: CustomEvent<UserEventDetail>) => setProfileOf(event.detail.userId), []);

  return (
    <>
      <header className="bar">
        <p>
          Signed in as <strong>{me.name}</strong>
          {me.title ? `, ${me.title}` : ''}
        </p>
        {client && <Connection client={client} />}
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      {error && (
        <p role="alert" className="notice">
          {error}
        </p>
      )}
      {client && (
        <main className="grid">
          <section aria-label="Status and people" className="column">
            <perch-status-box client={client} />
            <perch-buddy-list client={client} onperch-open-chat={openChat} onperch-open-profile={openProfile} />
          </section>
          <section aria-label="Chat" className="column">
            {profileOf && (
              <div className="panel">
                <div className="panel-head">
                  <h2>Profile</h2>
                  <button type="button" onClick={() => setProfileOf(undefined)}>
                    Close
                  </button>
                </div>
                <perch-profile-card client={client} userId={profileOf} onperch-open-chat={openChat} />
              </div>
            )}
            {chatWith ? (
              <div className="panel chat">
                <div className="panel-head">
                  <h2 id="chat-title">Chat with {names.get(chatWith) ?? chatWith}</h2>
                  <button type="button" onClick={() => setChatWith(undefined)}>
                    Close
                  </button>
                </div>
                <perch-chat-pane client={client} with={chatWith} aria-labelledby="chat-title" />
              </div>
            ) : (
              <p className="hint">Click someone in the buddy list (or press Enter on them) to chat; Shift+F10 shows their profile.</p>
            )}
          </section>
          <section aria-label="Feed" className="column">
            <perch-feed client={client} source="home" />
          </section>
        </main>
      )}
    </>
  );
}
