import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBucket } from './rate-limit.js';

test('a token bucket grants its burst, then says how long to wait, and refills at its rate', () => {
  let now = 0;
  const bucket = new TokenBucket({ perSecond: 10, burst: 3 }, () => now);
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [0, 0, 0], 'the burst is granted at once');
  assert.equal(bucket.take(), 100, 'then one token per 100 ms');
  now += 50;
  assert.equal(bucket.take(), 50, 'half-way there');
  now += 50;
  assert.equal(bucket.take(), 0);
  assert.equal(bucket.isFull(), false);
  now += 10_000;
  assert.equal(bucket.isFull(), true, 'never more than the burst');
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take(), bucket.take()], [0, 0, 0, 100]);
});
