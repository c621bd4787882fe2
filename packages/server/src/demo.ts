/**
 * Demo mode: a small company seeded into an empty database, and two HTTP endpoints that let the
 * example pages sign in as any of its people without a site backend. Never enable it in production:
 * `/demo/token` hands out tokens to anyone who asks.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Id, User } from '@perch/protocol';
import { mintToken } from './auth.js';
import type { Storage } from './storage/storage.js';

/** Photos served with the examples (examples/avatars/); a relative URL resolves against the page. */
const avatar = (name: string) => `/avatars/${name.split(' ')[0]!.toLowerCase()}.svg`;

/** The demo company: 12 people in 5 departments. */
export const DEMO_PEOPLE: readonly User[] = [
  { id: 'alice', name: 'Alice Liddell', title: 'Engineering manager', department: 'Engineering', phone: '+44 20 7946 0101', email: 'alice@perch.example', location: 'London', timeZone: 'Europe/London', avatar: avatar('Alice Liddell') },
  { id: 'bob', name: 'Bob Okafor', title: 'Backend engineer', department: 'Engineering', phone: '+234 1 555 0102', email: 'bob@perch.example', location: 'Lagos', timeZone: 'Africa/Lagos' },
  { id: 'chen', name: 'Chen Wei', title: 'Frontend engineer', department: 'Engineering', phone: '+65 6555 0103', email: 'chen@perch.example', location: 'Singapore', timeZone: 'Asia/Singapore', avatar: avatar('Chen Wei') },
  { id: 'dana', name: 'Dana Kowalski', title: 'Product designer', department: 'Design', phone: '+48 22 555 0104', email: 'dana@perch.example', location: 'Warsaw', timeZone: 'Europe/Warsaw', avatar: avatar('Dana Kowalski') },
  { id: 'emil', name: 'Emil Lindqvist', title: 'UX researcher', department: 'Design', phone: '+46 8 555 0105', email: 'emil@perch.example', location: 'Stockholm', timeZone: 'Europe/Stockholm' },
  { id: 'fatima', name: 'Fatima Haddad', title: 'Head of sales', department: 'Sales', phone: '+971 4 555 0106', email: 'fatima@perch.example', location: 'Dubai', timeZone: 'Asia/Dubai', avatar: avatar('Fatima Haddad') },
  { id: 'gabriel', name: 'Gabriel Souza', title: 'Account executive', department: 'Sales', phone: '+55 11 5555 0107', email: 'gabriel@perch.example', location: 'São Paulo', timeZone: 'America/Sao_Paulo' },
  { id: 'hana', name: 'Hana Sato', title: 'Support lead', department: 'Support', phone: '+81 3 5555 0108', email: 'hana@perch.example', location: 'Tokyo', timeZone: 'Asia/Tokyo', avatar: avatar('Hana Sato') },
  { id: 'ivan', name: 'Ivan Petrov', title: 'Support engineer', department: 'Support', phone: '+359 2 555 0109', email: 'ivan@perch.example', location: 'Sofia', timeZone: 'Europe/Sofia' },
  { id: 'julia', name: 'Julia Romero', title: 'Support agent', department: 'Support', phone: '+34 91 555 0110', email: 'julia@perch.example', location: 'Madrid', timeZone: 'Europe/Madrid' },
  { id: 'kofi', name: 'Kofi Mensah', title: 'Office manager', department: 'Operations', phone: '+233 30 555 0111', email: 'kofi@perch.example', location: 'Accra', timeZone: 'Africa/Accra', avatar: avatar('Kofi Mensah') },
  { id: 'lena', name: 'Lena Fischer', title: 'People partner', department: 'Operations', phone: '+49 30 555 0112', email: 'lena@perch.example', location: 'Berlin', timeZone: 'Europe/Berlin' },
];

/**
 * Seeds the demo company into an EMPTY store (a store with any user is left alone, so restarting
 * on the same file keeps what people did). Resolves to whether it seeded.
 */
export async function seedDemo(storage: Storage, now = Date.now()): Promise<boolean> {
  if (!(await storage.isEmpty())) return false;
  let clock = now - 3 * 3600_000;
  const tick = () => (clock += 4 * 60_000);
  for (const person of DEMO_PEOPLE) await storage.upsertUser(person, clock);
  for (const owner of DEMO_PEOPLE) {
    for (const other of DEMO_PEOPLE) {
      if (other.id !== owner.id) await storage.putContact(owner.id, other.id, [other.department ?? 'Others'], clock);
    }
  }
  // Everyone follows their department and the two managers.
  for (const follower of DEMO_PEOPLE) {
    for (const followee of DEMO_PEOPLE) {
      const related = followee.department === follower.department || followee.id === 'alice' || followee.id === 'fatima';
      if (followee.id !== follower.id && related) await storage.setFollow(follower.id, followee.id, true, clock);
    }
  }
  const post = async (authorId: Id, text: string, replyTo?: Id) => {
    const at = tick();
    const input = { id: randomUUID(), authorId, clientId: `demo-${randomUUID()}`, text, createdAt: at, sentAt: at };
    return (await storage.createPost(replyTo === undefined ? input : { ...input, replyTo })).value.id as Id;
  };
  const launch = await post('alice', 'Release 2.4 is out: faster search and dark mode. Thanks everyone! 🚀');
  await post('chen', '@alice dark mode was a team effort — @dana made it look great.', launch);
  await post('fatima', 'Closed our biggest deal of the quarter this morning. Drinks on Sales on Friday.');
  await post('hana', 'Support queue is at zero for the first time this month. Nice work @ivan and @julia!');
  await post('dana', 'New design system tokens are in Figma; feedback welcome.');
  await post('kofi', 'Reminder: the office is closed on Monday for maintenance.');
  for (const liker of ['bob', 'chen', 'dana', 'fatima']) await storage.setLike(launch, liker, true);

  const say = async (conversationId: Id, senderId: Id, text: string) => {
    const at = tick();
    await storage.appendMessage({ id: randomUUID(), conversationId, senderId, clientId: `demo-${randomUUID()}`, text, createdAt: at, sentAt: at });
  };
  const direct = (await storage.openDirect('alice', 'bob', randomUUID(), clock)).value.id;
  await say(direct, 'alice', 'Morning Bob! Did the migration finish overnight?');
  await say(direct, 'bob', 'Yes, all green. Took 42 minutes.');
  await say(direct, 'alice', 'Great, let us ship it after standup.');
  const crew = (await storage.createGroup({ id: randomUUID(), title: 'Launch crew', members: ['alice', 'chen', 'dana', 'fatima'] }, clock)).value;
  await say(crew.id, 'fatima', 'Customers are asking about the dark mode date.');
  await say(crew.id, 'chen', 'It is in 2.4, rolling out today.');
  await say(crew.id, 'dana', 'I will post screenshots in the feed.');
  await say(crew.id, 'alice', 'Perfect, thanks all.');
  const support = (await storage.openDirect('hana', 'julia', randomUUID(), clock)).value.id;
  await say(support, 'hana', 'Can you take the Madrid customer call at 3?');
  await say(support, 'julia', 'Sure, on it.');
  return true;
}

/** What the demo routes need. */
export interface DemoContext {
  storage: Storage;
  secret: string;
  audience: string;
  issuer: string;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  response.end(JSON.stringify(body));
}

/** Answers `/demo/people` and `/demo/token?user=ID`; resolves to false for any other path. */
export async function handleDemoRoute(context: DemoContext, response: ServerResponse, url: URL): Promise<boolean> {
  if (url.pathname === '/demo/people') {
    sendJson(response, 200, await context.storage.listDirectory());
    return true;
  }
  if (url.pathname === '/demo/token') {
    const userId = url.searchParams.get('user') ?? '';
    const user = userId === '' ? undefined : await context.storage.getUser(userId);
    if (user === undefined || user.visitor === true) {
      sendJson(response, 404, { error: `There is no demo user ${JSON.stringify(userId)}; see /demo/people for the ids.` });
      return true;
    }
    const claims = { title: user.title, department: user.department, phone: user.phone, email: user.email, location: user.location, tz: user.timeZone, avatar: user.avatar };
    const defined = Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
    const token = await mintToken({ ...defined, secret: context.secret, sub: user.id, name: user.name, audience: context.audience, issuer: context.issuer, ttlSeconds: 12 * 3600 });
    sendJson(response, 200, { token, user });
    return true;
  }
  return false;
}
