import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeReason, codeForClose, retryAfterIn } from './close-codes.js';

test('close codes map to error codes', () => {
  assert.equal(codeForClose(4001), 'unauthorized');
  assert.equal(codeForClose(1008), 'forbidden');
  assert.equal(codeForClose(4029), 'rate_limited');
  assert.equal(codeForClose(1013), 'rate_limited');
  assert.equal(codeForClose(1009), 'too_large');
  assert.equal(codeForClose(4002), 'timeout');
  for (const code of [1000, 1001, 1006, 1011, 4003]) assert.equal(codeForClose(code), 'unavailable');
});

test('a retry delay is read from a JSON or a text close reason', () => {
  assert.equal(retryAfterIn('{"retryAfter":1200}'), 1200);
  assert.equal(retryAfterIn('Too busy; retry after 3000 ms'), 3000);
  assert.equal(retryAfterIn('retryAfter=50'), 50);
  assert.equal(retryAfterIn('{"retryAfter":-1}'), undefined);
  assert.equal(retryAfterIn('Slow consumer: read too slowly.'), undefined);
  assert.equal(retryAfterIn(''), undefined);
});

test('the error frame right before a close explains it, except when the server goes away', () => {
  const throttled = { code: 'rate_limited' as const, message: 'Slow down.', retryAfter: 900 };
  assert.deepEqual(closeReason(4029, 'Flooding.', throttled), { code: 'rate_limited', message: 'Slow down.', retryAfter: 900 });
  assert.deepEqual(closeReason(1011, '', { code: 'internal', message: 'Database down.' }), { code: 'internal', message: 'Database down.' });
  assert.equal(closeReason(1001, 'Restarting.', throttled).code, 'unavailable');
  assert.equal(closeReason(1001, 'Restarting.', throttled).retryAfter, undefined);
  assert.deepEqual(closeReason(4029, '{"retryAfter":100}'), { code: 'rate_limited', message: '{"retryAfter":100}', retryAfter: 100 });
  assert.match(closeReason(1006, '').message, /1006/);
});
