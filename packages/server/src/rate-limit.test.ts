import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressKey, TokenBucket } from './rate-limit.js';

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

test('addresses are limited as IPv4 addresses and IPv6 /64 networks, however they are written', () => {
  assert.equal(addressKey('192.0.2.1'), '192.0.2.1');
  assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1', 'IPv4 through an IPv6 socket is the same address');
  assert.equal(addressKey('::FFFF:c000:0201'), '192.0.2.1');
  const net = addressKey('2001:db8:1:2::1');
  assert.equal(net, '2001:db8:1:2::/64');
  for (const same of ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0DB8:0001:0002:0:0:0:7', '2001:db8:1:2::c000:201', '2001:db8:1:2::1%eth0']) {
    assert.equal(addressKey(same), net, same);
  }
  assert.notEqual(addressKey('2001:db8:1:3::1'), net);
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressKey('unknown'), 'unknown', 'anything else is its own key');
});
