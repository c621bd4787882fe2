/// <reference types="node" />
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fetchToken } from './session.js';

const answer = (status: number, body = '') => (async () => new Response(body, { status })) as typeof fetch;
const codeOf = (url: string, fetcher: typeof fetch) => fetchToken(url, fetcher).then(() => 'ok', (error: { code: string }) => error.code);

test('the token URL: a token in JSON or plain text; refused for good on 4xx but 408 and 429; retried otherwise', async () => {
  assert.deepEqual(await fetchToken('/t', answer(200, '{"token":"abc"}')), { token: 'abc' });
  assert.deepEqual(await fetchToken('/t', answer(200, ' abc\n')), { token: 'abc' });
  for (const status of [401, 403, 400, 404, 410]) assert.equal(await codeOf('/t', answer(status)), 'unauthorized', `${status}`);
  for (const status of [408, 429, 500, 502, 503]) assert.equal(await codeOf('/t', answer(status)), 'unavailable', `${status}`);
  assert.equal(await codeOf('/t', (async () => Promise.reject(new TypeError('Failed to fetch'))) as typeof fetch), 'unavailable');
  await assert.rejects(fetchToken('/demo/token?user=zed', answer(404)), /answered 404, so Perch cannot sign in/);
  assert.equal(await codeOf('/t', answer(200, '{"token":""}')), 'unauthorized');
});
