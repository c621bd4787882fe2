import { useId, useMemo, useState, type FormEvent } from 'react';
import type { Id, User } from '@perch/core';

export interface SignInProps {
  people: readonly User[];
  /** A `?user=` that is nobody in the demo company, to say so. */
  unknown?: Id | undefined;
  onSignIn: (userId: Id) => void;
}

/** Pick who you are: the demo company's people, by department. */
export function SignIn({ people, unknown, onSignIn }: SignInProps) {
  const [choice, setChoice] = useState<Id>(people[0]?.id ?? '');
  const selectId = useId();
  const departments = useMemo(() => {
    const groups = new Map<string, User[]>();
    for (const person of people) {
      const name = person.department ?? 'Others';
      groups.set(name, [...(groups.get(name) ?? []), person]);
    }
    return [...groups];
  }, [people]);

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (choice) onSignIn(choice);
  };

  return (
    <main className="sign-in">
      <h2>Sign in to the demo company</h2>
      {unknown && (
        <p role="alert" className="notice">
          There is no demo person “{unknown}”. Pick someone below.
        </p>
      )}
      <form onSubmit={submit} className="sign-in-form">
        <label htmlFor={selectId}>Who are you?</label>
        <select id={selectId} name="user" value={choice} onChange={(event) => setChoice(event.target.value)}>
          {departments.map(([department, members]) => (
            <optgroup key={department} label={department}>
              {members.map((person) => (
                <option key={person.id} value={person.id}>
                  {person.name}
                  {person.title ? ` — ${person.title}` : ''}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
      <p className="hint">Open a second window as someone else to chat with yourself.</p>
    </main>
  );
}
