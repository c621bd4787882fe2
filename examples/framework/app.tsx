import { SignIn } from './sign-in.js';
import { usePeople, useUserParam } from './hooks.js';
import { Workspace } from './workspace.js';

/** Who is signed in lives in the URL (`?user=bob`); signing out removes it. */
export function App() {
  const [userId, setUserId] = useUserParam();
  const { people, error } = usePeople();
  if (error)
    return (
      <p role="alert" className="notice">
        {error}
      </p>
    );
  if (!people) return <p className="hint">Loading the demo company…</p>;
  const me = people.find((person) => person.id === userId);
  if (!me) return <SignIn people={people} unknown={userId} onSignIn={setUserId} />;
  // A new user is a new workspace: its client, open chat and profile start afresh.
  return <Workspace key={me.id} me={me} people={people} onSignOut={() => setUserId(undefined)} />;
}
