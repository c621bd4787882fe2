import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_FRAME_BYTES, parseFrame, validateClientFrame, validateServerFrame } from './frames.js';

const client = (raw: string) => {
  const parsed = parseFrame(raw);
  return parsed.ok ? validateClientFrame(parsed.value) : parsed;
};

test('a well-formed hello and request pass, with unknown fields dropped', () => {
  assert.deepEqual(client('{"type":"hello","v":1,"auth":{"token":"abc"},"extra":1}'), {
    ok: true,
    value: { type: 'hello', v: 1, auth: { token: 'abc' } },
  });
  const req = client('{"type":"req","id":"1","cmd":"sendMessage","args":{"conversationId":"c1","clientId":"k1","text":"hi","createdAt":5,"x":9}}');
  assert.deepEqual(req, { ok: true, value: { type: 'req', id: '1', cmd: 'sendMessage', args: { conversationId: 'c1', clientId: 'k1', text: 'hi', createdAt: 5 } } });
});

test('ping is a client frame of its own, with or without extra fields', () => {
  assert.deepEqual(client('{"type":"ping"}'), { ok: true, value: { type: 'ping' } });
  assert.deepEqual(client('{"type":"ping","id":"7","at":1}'), { ok: true, value: { type: 'ping' } }, 'unknown fields are dropped');
  assert.equal(client('{"type":"pong"}').ok, false, 'pong is the server\'s frame');
  assert.match((client('{"type":"Ping"}') as { error: string }).error, /Unknown frame type "Ping"; expected "hello", "req" or "ping"/);
});

test('hostile frames are refused with a sentence, never a throw', () => {
  const cases: Array<[string, RegExp]> = [
    ['not json', /not valid JSON/],
    ['[1,2]', /JSON object/],
    ['{"type":"req","id":"1","cmd":"history","args":{"conversationId":"c","limit":1e999}}', /"limit" must be an integer/],
    ['{"type":"req","id":"1","cmd":"markRead","args":{"conversationId":"c","seq":-1}}', /"seq"/],
    ['{"type":"req","id":"1","cmd":"__proto__","args":{}}', /Unknown command/],
    ['{"type":"req","id":"1","cmd":"toString","args":{}}', /Unknown command/],
    ['{"type":"shout"}', /Unknown frame type/],
    ['{"type":"hello","v":2,"auth":{"token":"a"}}', /Unsupported protocol version 2/],
    ['{"type":"hello","v":1,"auth":"alice"}', /"auth" must be/],
    ['{"type":"req","id":"1","cmd":"sendMessage","args":{"conversationId":"c 1","clientId":"k","text":"x","createdAt":1}}', /conversationId/],
    ['{"type":"req","id":"1","cmd":"sendMessage","args":{"conversationId":"c","clientId":"k","text":"  ","createdAt":1}}', /empty/],
    ['{"type":"req","id":"1","cmd":"feed","args":{"source":{"kind":"everyone"},"limit":5}}', /source.kind/],
    ['{"type":"req","id":"1","cmd":"history","args":{"conversationId":"c","limit":5,"after":1,"before":9}}', /not both/],
    [`{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`, /nested deeper|not valid JSON/],
    [JSON.stringify({ type: 'req', id: '1', cmd: 'sendMessage', args: { text: 'x'.repeat(MAX_FRAME_BYTES) } }), /larger than/],
    ['{"type":"req","id":"1","cmd":"createGroup","args":{"title":"Launch\\u0007","members":[]}}', /^"title" contains the control character U\+0007/],
    ['{"type":"req","id":"1","cmd":"createGroup","args":{"title":"Launch \\ud83d","members":[]}}', /^"title" contains half of a surrogate pair/],
    ['{"type":"req","id":"1","cmd":"addContact","args":{"userId":"bob","groups":["Te\\u0085am"]}}', /^"groups\[0\]" contains the control character U\+0085/],
    ['{"type":"req","id":"1","cmd":"setPresence","args":{"show":"away","status":"\\u001b[31m"}}', /^Status contains the control character U\+001B/],
    ['{"type":"req","id":"1","cmd":"sendMessage","args":{"conversationId":"c","clientId":"k","text":"nul\\u0000","createdAt":1}}', /^Message contains control characters/],
    ['{"type":"req","id":"1","cmd":"sendMessage","args":{"conversationId":"c","clientId":"k","text":"\\u009b2J","createdAt":1}}', /^Message contains the control character U\+009B/],
    ['{"type":"req","id":"1","cmd":"editMessage","args":{"conversationId":"c","id":"m","text":"half \\udbff"}}', /^Message contains half of a surrogate pair \(U\+DBFF\)/],
    ['{"type":"req","id":"1","cmd":"post","args":{"clientId":"k","text":"\\u0090","createdAt":1}}', /^Post contains the control character U\+0090/],
    // 40,000 characters but 80,000 UTF-8 bytes: the limit is in bytes.
    [JSON.stringify({ type: 'req', id: '1', cmd: 'sendMessage', args: { text: 'é'.repeat(40_000) } }), /larger than/],
  ];
  for (const [raw, reason] of cases) {
    const result = client(raw);
    assert.equal(result.ok, false, raw.slice(0, 60));
    assert.match((result as { error: string }).error, reason, raw.slice(0, 60));
  }
});

test('texts keep tab and line breaks; a title may end in a line break, trimmed away like spaces', () => {
  const send = client('{"type":"req","id":"1","cmd":"sendMessage","args":{"conversationId":"c","clientId":"k","text":"a\\n\\tb\\r\\nc \\ud83d\\ude00","createdAt":1}}');
  assert.equal(send.ok && send.value.type === 'req' && send.value.cmd === 'sendMessage' && send.value.args.text, 'a\n\tb\r\nc 😀');
  assert.equal(client('{"type":"req","id":"1","cmd":"createGroup","args":{"title":"Launch crew\\n","members":[]}}').ok, true);
  // The 1–100 characters are counted after trimming, and the title is passed on trimmed.
  const full = client(`{"type":"req","id":"1","cmd":"createGroup","args":{"title":" ${'x'.repeat(100)}\\n","members":[]}}`);
  assert.equal(full.ok && full.value.type === 'req' && full.value.cmd === 'createGroup' && full.value.args.title, 'x'.repeat(100));
  assert.equal(client(`{"type":"req","id":"1","cmd":"createGroup","args":{"title":"${'x'.repeat(101)}","members":[]}}`).ok, false);
  assert.equal(client('{"type":"req","id":"1","cmd":"createGroup","args":{"title":" \\n ","members":[]}}').ok, false);
});

test('createGroup takes an optional clientId, checked like a message\'s', () => {
  const group = (args: string) => client(`{"type":"req","id":"1","cmd":"createGroup","args":${args}}`);
  assert.deepEqual(group('{"title":"Lunch","members":["bob"],"clientId":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}'), {
    ok: true,
    value: { type: 'req', id: '1', cmd: 'createGroup', args: { title: 'Lunch', members: ['bob'], clientId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b' } },
  });
  assert.deepEqual(group('{"title":"Lunch","members":["bob"]}'), { ok: true, value: { type: 'req', id: '1', cmd: 'createGroup', args: { title: 'Lunch', members: ['bob'] } } }, 'old clients send none');
  for (const clientId of ['""', '"two words"', '7', 'null', `"${'k'.repeat(129)}"`]) {
    const result = group(`{"title":"Lunch","members":["bob"],"clientId":${clientId}}`);
    assert.equal(result.ok, false, clientId);
    assert.match((result as { error: string }).error, /^"clientId" must be an id of 1–128 letters/, clientId);
  }
});

test('server frames are checked at the envelope', () => {
  const parsed = (raw: string) => {
    const p = parseFrame(raw);
    return p.ok ? validateServerFrame(p.value) : p;
  };
  assert.equal(parsed('{"type":"event","event":"message","data":{}}').ok, true);
  assert.equal(parsed('{"type":"event","event":"nuke","data":{}}').ok, false);
  assert.equal(parsed('{"type":"res"}').ok, false);
  assert.equal(parsed('{"type":"error","code":"forbidden","message":"no","id":"3"}').ok, true);
  assert.deepEqual(parsed('{"type":"pong"}'), { ok: true, value: { type: 'pong' } });
  assert.equal(parsed('{"type":"pong","at":1}').ok, true);
  assert.equal(parsed('{"type":"ping"}').ok, false, 'ping is the client\'s frame');
});

test('reauth takes one token, checked like hello\'s', () => {
  assert.deepEqual(client('{"type":"req","id":"2","cmd":"reauth","args":{"token":"abc","sub":"x"}}'), {
    ok: true,
    value: { type: 'req', id: '2', cmd: 'reauth', args: { token: 'abc' } },
  });
  for (const args of ['{}', '{"token":""}', '{"token":5}', `{"token":"${'a'.repeat(4097)}"}`]) {
    const refused = client(`{"type":"req","id":"3","cmd":"reauth","args":${args}}`);
    assert.match((refused as { error: string }).error, /"token" must be a token of 1–4096 characters/, args);
  }
  assert.match((client(`{"type":"hello","v":1,"auth":{"token":"${'a'.repeat(4097)}"}}`) as { error: string }).error, /"auth.token" must be a token/);
});
