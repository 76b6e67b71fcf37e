// The double-sign policy as pure functions: every rule of docs/protection.md
// with the case it allows and the case it refuses, plus the import merge.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePreimage } from '../../src/preimage/index.ts';
import { attachSignature, decideRequest, mergeRecord, recordKey, slotKey, slotRequestOf, type ProtectionScope, type SlotRecord, type SlotRequest } from '../../src/protection/index.ts';
import { chainId, messages } from './fixtures/harness.ts';

const scope: ProtectionScope = { chainId, validatorId: 42n, keyRole: 'consensus' };
const m = messages(42n);
const req = (preimage: Uint8Array): SlotRequest => slotRequestOf(scope, parsePreimage(preimage), preimage);

/** A tiny in-memory store: applies decisions in order, as a transaction would. */
class State {
  readonly rows = new Map<string, SlotRecord>();
  decide(preimage: Uint8Array): string {
    const r = req(preimage);
    const { decision, write } = decideRequest(r, (kind, subject) => this.rows.get(slotKey(scope, kind, subject)));
    if (write) this.rows.set(recordKey(write), write);
    return decision.verdict === 'refuse' ? `refuse: ${decision.reason}` : decision.verdict;
  }
  sign(preimage: Uint8Array, sig = new Uint8Array([1, 2, 3])): string {
    const verdict = this.decide(preimage);
    if (verdict === 'sign') {
      const r = req(preimage);
      const rec = attachSignature(r, sig, this.rows.get(recordKey(r)));
      if (rec) this.rows.set(recordKey(rec), rec);
    }
    return verdict;
  }
}

test('same kind: one preimage per view, never below the high-watermark', () => {
  const s = new State();
  assert.equal(s.sign(m.vote(10n)), 'sign');
  assert.match(s.sign(m.vote(10n, 'B')), /^refuse: a different vote was already signed at view 10$/);
  assert.match(s.sign(m.vote(9n)), /below the high-watermark: a vote was already signed at view 10/);
  assert.equal(s.sign(m.vote(11n, 'B')), 'sign');
  assert.match(s.sign(m.vote(10n)), /below the high-watermark/);
  for (const kind of ['proposal', 'timeout'] as const) {
    const t = new State();
    assert.equal(t.sign(m[kind](5n)), 'sign');
    assert.match(t.sign(m[kind](5n, 'B')), new RegExp(`a different ${kind} was already signed at view 5`));
    assert.match(t.sign(m[kind](4n)), /below the high-watermark/);
  }
});

test('identical retry: replays the stored signature; without one it may sign again', () => {
  const s = new State();
  s.sign(m.vote(3n), new Uint8Array([9, 9]));
  const r = req(m.vote(3n));
  const { decision, write } = decideRequest(r, (kind, subject) => s.rows.get(slotKey(scope, kind, subject)));
  assert.deepEqual(decision, { verdict: 'replay', signature: new Uint8Array([9, 9]) });
  assert.equal(write, null);
  // Crash between record and signature: the record has no signature.
  const t = new State();
  assert.equal(t.decide(m.vote(3n)), 'sign');
  assert.equal(t.decide(m.vote(3n)), 'sign');
  assert.match(t.decide(m.vote(3n, 'B')), /a different vote/);
});

test('HotStuff order within a view: proposal, then vote, then timeout', () => {
  const s = new State();
  assert.equal(s.sign(m.proposal(7n)), 'sign');
  assert.equal(s.sign(m.vote(7n)), 'sign', 'the leader votes for its own proposal');
  assert.equal(s.sign(m.timeout(7n)), 'sign', 'a view voted in may still time out');
  assert.match(s.sign(m.vote(7n, 'B')), /a different vote was already signed at view 7/);
  assert.match(s.sign(m.proposal(7n, 'B')), /a different proposal/);

  const t = new State();
  assert.equal(t.sign(m.timeout(5n)), 'sign');
  assert.match(t.sign(m.vote(5n)), /a timeout was already signed at view 5, and a vote may not follow a timeout in the same view/);
  assert.match(t.sign(m.proposal(5n)), /a timeout was already signed at view 5, and a proposal may not follow a timeout/);
  assert.equal(t.sign(m.proposal(6n)), 'sign');

  const u = new State();
  assert.equal(u.sign(m.vote(5n)), 'sign');
  assert.match(u.sign(m.proposal(5n)), /a vote was already signed at view 5, and a proposal may not follow a vote/);
  assert.match(u.sign(m.timeout(4n)), /a vote was already signed at the higher view 5/);
  assert.match(u.sign(m.proposal(4n)), /higher view 5/);
  assert.equal(u.sign(m.timeout(5n)), 'sign');
});

test('identical vote after a timeout in its view: replayed if its signature is stored, refused if it would be signed anew', () => {
  const s = new State();
  s.sign(m.vote(8n));
  s.sign(m.timeout(8n));
  assert.equal(s.decide(m.vote(8n)), 'replay');
  const t = new State();
  assert.equal(t.decide(m.vote(8n)), 'sign'); // recorded, crashed before its signature was stored
  assert.equal(t.sign(m.timeout(8n)), 'sign');
  assert.match(t.decide(m.vote(8n)), /a timeout was already signed at view 8/);
});

test('DAG: one batch per round for the author; acks per batch author and round', () => {
  const s = new State();
  assert.equal(s.sign(m.batch(1n)), 'sign');
  assert.match(s.sign(m.batch(1n, 'B')), /a different batch was already signed at round 1/);
  assert.equal(s.sign(m.batch(2n)), 'sign');
  assert.match(s.sign(m.batch(1n)), /below the high-watermark: a batch was already signed at round 2/);
  assert.equal(s.sign(m.ack(7n, 3n)), 'sign');
  assert.equal(s.sign(m.ack(8n, 3n)), 'sign', 'another author, same round');
  assert.match(s.sign(m.ack(7n, 3n, 'B')), /a different batch-ack was already signed at round 3 of batch author 7/);
  assert.match(s.sign(m.ack(7n, 2n)), /below the high-watermark: a batch-ack was already signed at round 3 of batch author 7/);
  assert.equal(s.sign(m.ack(8n, 4n)), 'sign');
  // DAG rounds and consensus views are independent axes.
  assert.equal(s.sign(m.vote(1n)), 'sign');
  assert.equal(s.sign(m.batch(3n)), 'sign');
});

test('an unknown-preimage watermark refuses every request at its height', () => {
  const s = new State();
  s.rows.set(slotKey(scope, 'vote', null), { scope, kind: 'vote', subject: null, height: 20n, preimage: null, signature: null });
  assert.match(s.decide(m.vote(20n)), /a vote was already signed at view 20 \(imported watermark, preimage unknown\)/);
  assert.match(s.decide(m.vote(19n)), /below the high-watermark/);
  assert.equal(s.decide(m.vote(21n)), 'sign');
});

test('merge by maximum: higher replaces, lower is ignored, equal and different blocks the height', () => {
  const rec = (preimage: Uint8Array | null, height: bigint): SlotRecord => ({ scope, kind: 'vote', subject: null, height, preimage, signature: null });
  const local: SlotRecord = { ...rec(m.vote(10n), 10n), signature: new Uint8Array([1]) };
  assert.deepEqual(mergeRecord(undefined, rec(m.vote(4n), 4n)), { outcome: 'added', write: rec(m.vote(4n), 4n) });
  assert.deepEqual(mergeRecord(local, rec(m.vote(11n), 11n)), { outcome: 'raised', write: rec(m.vote(11n), 11n) });
  assert.deepEqual(mergeRecord(local, rec(m.vote(9n), 9n)), { outcome: 'unchanged', write: null });
  assert.deepEqual(mergeRecord(local, rec(m.vote(10n), 10n)), { outcome: 'unchanged', write: null }, 'identical keeps the local signature');
  assert.deepEqual(mergeRecord(local, rec(m.vote(10n, 'B'), 10n)), { outcome: 'blocked', write: rec(null, 10n) });
  assert.deepEqual(mergeRecord(local, rec(null, 10n)), { outcome: 'blocked', write: rec(null, 10n) });
  assert.deepEqual(mergeRecord(rec(null, 10n), rec(m.vote(10n), 10n)), { outcome: 'unchanged', write: null });
});
