/**
 * The example frames of docs/protocol.md, played against a real server: each `→` frame is sent
 * (its placeholders filled in), and each `←` frame must match what comes back, field by field.
 * A placeholder (a string with `…` or `<…>`) matches any string; `…` among an object's fields
 * stands for fields the example leaves out (`{…}`: any object).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { timeOrderedId, type Message } from '@perch/protocol';
import { inProcess, TestClient, token, type Frame } from './harness.test.util.js';
import type { RunningServer } from './server.js';

const DOC = new URL('../../../docs/protocol.md', import.meta.url);

/** One frame of an example: `out` for the client's, `in` for the server's. */
type Step = { dir: 'out' | 'in'; frame: Record<string, unknown> };

/** The examples of the page, one list of steps per ```json block that holds frames. */
function examples(markdown: string): Step[][] {
  const blocks = [...markdown.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => match[1] as string);
  return blocks
    .map((block) => {
      const steps: Array<{ dir: 'out' | 'in'; text: string }> = [];
      for (const line of block.split('\n')) {
        const arrow = /^([→←]) (.*)$/.exec(line);
        if (arrow) steps.push({ dir: arrow[1] === '→' ? 'out' : 'in', text: arrow[2] as string });
        else if (/^\s+[^\s(]/.test(line) && steps.length > 0) (steps.at(-1) as { text: string }).text += line.trim();
      }
      return steps.map(({ dir, text }) => ({ dir, frame: JSON.parse(text.replace(/,\s*…\s*}/g, '}').replace(/{\s*…\s*}/g, '{}')) as Record<string, unknown> }));
    })
    .filter((steps) => steps.length > 0);
}

const isPlaceholder = (value: unknown): value is string => typeof value === 'string' && /…|^<.*>$/.test(value);

/** Replaces the placeholders of a client frame by real values. */
function fill(value: unknown, values: Record<string, string>): unknown {
  if (isPlaceholder(value)) {
    assert.ok(value in values, `the test knows no value for the placeholder ${value}`);
    return values[value];
  }
  if (Array.isArray(value)) return value.map((item) => fill(item, values));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fill(item, values)]));
  }
  return value;
}

/** Asserts that `actual` has every field of `expected` with the same value (placeholders match any string). */
function matches(actual: unknown, expected: unknown, path = 'frame'): void {
  if (isPlaceholder(expected)) return assert.equal(typeof actual, 'string', `${path} is a string`);
  if (typeof expected === 'object' && expected !== null && !Array.isArray(expected)) {
    assert.ok(typeof actual === 'object' && actual !== null, `${path} is an object`);
    for (const [key, value] of Object.entries(expected)) matches((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
    return;
  }
  assert.deepEqual(actual, expected, path);
}

let server: RunningServer;
const clients: TestClient[] = [];
const alice = () => token('alice', 'Alice Liddell', { title: 'Engineer' });

before(async () => {
  server = await inProcess();
});

after(async () => {
  for (const client of clients) client.close();
  await server.close();
});

test('the example frames of docs/protocol.md are what the server says', async () => {
  const steps = examples(readFileSync(DOC, 'utf8'));
  assert.ok(steps.length >= 2, 'the page has its examples (the session and the heartbeat)');
  const bob = await TestClient.signIn(server.url, await token('bob'));
  const aliceElsewhere = await TestClient.signIn(server.url, await alice());
  clients.push(bob, aliceElsewhere);
  const direct = await aliceElsewhere.request('openDirect', { userId: 'bob' });
  const clientId = timeOrderedId();
  const values = { '<JWT signed by your site>': await alice(), '3f1c…': direct.id, '019c…': clientId, '<a fresh JWT for alice>': await alice() };

  // One connection plays them all in order: the first signs in, the heartbeat's comes after hello.
  const client = await TestClient.open(server.url);
  clients.push(client);
  for (const example of steps) {
    for (const { dir, frame } of example) {
      if (dir === 'out') {
        client.send(fill(frame, values));
        continue;
      }
      const answer: Frame = await client.next((f) => f.type !== 'event');
      matches(answer, frame);
    }
    assert.deepEqual(client.inbox.filter((f) => f.type !== 'event'), [], 'nothing more than the example shows');
  }

  // What the session example says in words: the message goes to Bob and to Alice's other
  // connection as an event, and to the connection that sent it only in the res.
  for (const other of [bob, aliceElsewhere]) {
    const echoed = await other.event<Message>('message', (m) => m.clientId === clientId);
    assert.equal(echoed.text, 'Hi Bob');
  }
  assert.deepEqual(client.inbox.filter((f) => f.type === 'event' && f.event === 'message'), [], 'no echo to the sending connection');
});
