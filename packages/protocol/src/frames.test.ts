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
    // 40,000 characters but 80,000 UTF-8 bytes: the limit is in bytes.
    [JSON.stringify({ type: 'req', id: '1', cmd: 'sendMessage', args: { text: 'é'.repeat(40_000) } }), /larger than/],
  ];
  for (const [raw, reason] of cases) {
    const result = client(raw);
    assert.equal(result.ok, false, raw.slice(0, 60));
    assert.match((result as { error: string }).error, reason, raw.slice(0, 60));
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
