// Token bucket: a burst up to the limit passes, the next is refused at once,
// and capacity comes back with time.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter } from '../../src/remote/rate-limiter.ts';

test('allows rps in a burst, refuses the rest, refills over time', () => {
  let now = 0;
  const rl = new RateLimiter(100, () => now);
  let passed = 0;
  for (let i = 0; i < 250; i++) if (rl.tryTake()) passed++;
  assert.equal(passed, 100);
  now += 100; // 0.1 s -> 10 tokens
  passed = 0;
  for (let i = 0; i < 50; i++) if (rl.tryTake()) passed++;
  assert.equal(passed, 10);
  now += 10_000; // never more than the burst
  passed = 0;
  for (let i = 0; i < 500; i++) if (rl.tryTake()) passed++;
  assert.equal(passed, 100);
});

test('zero disables limiting', () => {
  const rl = new RateLimiter(0);
  for (let i = 0; i < 1000; i++) assert.ok(rl.tryTake());
});
