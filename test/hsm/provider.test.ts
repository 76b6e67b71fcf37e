// Pkcs11Provider against a real SoftHSM2 token: generate, import, list,
// delete, sign and verify (node:crypto and the @noble oracle), key
// attributes, interop with pkcs11-tool (OpenSC), concurrency, and the clear
// errors: wrong PIN, missing token, missing key, missing library, a session
// broken mid-run (recovered), a key deleted mid-run (not recovered).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pkcs11js from 'pkcs11js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { p256 } from '@noble/curves/nist.js';
import { generateSigningKey, exportSigningKey, suiteByName, verifySignature, publicKeyFingerprint } from '../../src/crypto/index.ts';
import { HsmError } from '../../src/hsm/hsm-error.ts';
import { Pkcs11Provider } from '../../src/hsm/provider.ts';
import type { HsmKeyType } from '../../src/hsm/key-types.ts';
import { createSoftHsmStore, openTokenHandle, type SoftHsmStore } from '../helpers/softhsm.ts';

const PIN = '246810';
const TOKEN = 'qbind-provider-test';
let store: SoftHsmStore;
let provider: Pkcs11Provider;
const logLines: string[] = [];
const logger = (await import('../../src/log/logger.ts')).createLogger({ level: 'debug', write: (l) => logLines.push(l) });

function newProvider(over: Partial<ConstructorParameters<typeof Pkcs11Provider>[0]> = {}): Pkcs11Provider {
  return new Pkcs11Provider({ libraryPath: store.libraryPath, tokenLabel: TOKEN, pin: PIN, sessions: 3, logger, ...over });
}

async function rejectsCode(p: Promise<unknown>, code: string, text?: RegExp): Promise<HsmError> {
  let caught: unknown;
  await assert.rejects(p, (err: unknown) => {
    caught = err;
    return err instanceof HsmError && err.code === code && (!text || text.test(err.message));
  });
  return caught as HsmError;
}

before(async () => {
  store = createSoftHsmStore();
  store.initToken(TOKEN, PIN);
  store.initToken('qbind-other-token', '1111');
  // A key made by OpenSC's pkcs11-tool, before our library is initialized in this process.
  store.pkcs11Tool(['--token-label', TOKEN, '--login', '--pin', PIN, '--keypairgen', '--key-type', 'EC:secp256k1', '--label', 'opensc-k1', '--id', 'a1']);
  store.pkcs11Tool(['--token-label', TOKEN, '--login', '--pin', PIN, '--keypairgen', '--key-type', 'EC:edwards25519', '--label', 'opensc-ed', '--id', 'a2']);
  provider = newProvider();
  await provider.connect();
});

after(async () => {
  await provider?.close();
  store?.cleanup();
  assert.ok(!logLines.some((l) => l.includes(PIN)), 'the PIN must never be logged');
});

const ORACLES: Record<string, (sig: Uint8Array, msg: Uint8Array, pub: Uint8Array) => boolean> = {
  ed25519: (sig, msg, pub) => ed25519.verify(sig, msg, pub),
  secp256k1: (sig, msg, pub) => secp256k1.verify(sig, createHash('sha256').update(msg).digest(), pub, { prehash: false, lowS: true }),
  'p-256': (sig, msg, pub) => p256.verify(sig, createHash('sha256').update(msg).digest(), pub, { prehash: false, lowS: false }),
};

for (const keyType of ['ed25519', 'secp256k1', 'p-256'] as HsmKeyType[]) {
  test(`generate ${keyType}: non-extractable token key, signatures verify with node:crypto and @noble`, async () => {
    const label = `gen-${keyType}`;
    const info = await provider.generateKey(keyType, label);
    assert.equal(info.keyType, keyType);
    assert.equal(info.sensitive, true);
    assert.equal(info.extractable, false);
    assert.equal(info.local, true);
    assert.equal(info.neverExtractable, true);
    assert.equal(info.canSign, true);
    const suite = suiteByName(keyType);
    assert.equal(info.publicKey?.length, suite.publicKeyBytes);
    assert.equal(info.fingerprint, publicKeyFingerprint(info.publicKey!));
    const msg = Buffer.from(`QBIND test message for ${keyType}`);
    for (let i = 0; i < 5; i++) {
      const sig = await provider.sign(label, msg);
      assert.equal(sig.length, suite.signatureBytes);
      assert.ok(verifySignature(suite, info.publicKey!, msg, sig), 'src/crypto verifySignature accepts the HSM signature');
      assert.ok(ORACLES[keyType]!(sig, msg, info.publicKey!), '@noble/curves accepts the HSM signature');
      assert.ok(!verifySignature(suite, info.publicKey!, Buffer.from('another message'), sig));
    }
    assert.deepEqual(await provider.getPublicKey(label), info.publicKey);
    await rejectsCode(provider.generateKey(keyType, label), 'HSM_KEY_EXISTS', new RegExp(`labelled '${label}'`));
  });

  test(`import ${keyType} (migration): same public key, non-extractable, signs for it`, async () => {
    const suite = suiteByName(keyType);
    const soft = generateSigningKey(suite);
    const secret = exportSigningKey(soft);
    const label = `imp-${keyType}`;
    const info = await provider.importKey(keyType, label, secret);
    assert.deepEqual(info.publicKey, soft.publicKey);
    assert.equal(info.sensitive, true);
    assert.equal(info.extractable, false);
    assert.equal(info.local, false, 'an imported key is not CKA_LOCAL');
    const msg = Buffer.from('migrated key signs');
    const sig = await provider.sign(label, msg);
    assert.ok(verifySignature(suite, soft.publicKey, msg, sig));
    assert.ok(ORACLES[keyType]!(sig, msg, soft.publicKey));
  });
}

test('ECDSA signatures from the token are always low-S', async () => {
  await provider.generateKey('secp256k1', 'low-s');
  const key = await provider.resolveKey('low-s');
  const half = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n >> 1n;
  for (let i = 0; i < 24; i++) {
    const sig = await provider.signWith(key, Buffer.from(`m${i}`));
    assert.ok(BigInt('0x' + sig.subarray(32).toString('hex')) <= half);
  }
});

test('keys made by pkcs11-tool are used by us; ours are seen and used by pkcs11-tool', async () => {
  for (const [label, keyType] of [['opensc-k1', 'secp256k1'], ['opensc-ed', 'ed25519']] as const) {
    const info = await provider.getKey(label);
    assert.equal(info.keyType, keyType);
    assert.equal(info.id, label === 'opensc-k1' ? 'a1' : 'a2');
    const msg = Buffer.from('signed with an OpenSC-made key');
    const sig = await provider.sign(label, msg);
    assert.ok(verifySignature(suiteByName(keyType), info.publicKey!, msg, sig));
  }
  // pkcs11-tool's own view of the secp256k1 public key matches ours.
  const der = join(store.dir, 'k1.der');
  store.pkcs11Tool(['--token-label', TOKEN, '--read-object', '--type', 'pubkey', '--label', 'opensc-k1', '-o', der]);
  const spkiPoint = createPublicKey({ key: readFileSync(der), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  const ours = createPublicKey({ key: Buffer.concat([Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex'), (await provider.getPublicKey('opensc-k1'))]), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  assert.deepEqual(ours, spkiPoint);

  // Our generated P-256 key as pkcs11-tool sees it, and a signature it makes with it verifies under our public key.
  const listing = store.pkcs11Tool(['--token-label', TOKEN, '--login', '--pin', PIN, '--list-objects']);
  assert.match(listing, /label:\s+gen-p-256/);
  assert.match(listing, /Access:\s+sensitive, always sensitive, never extractable, local/);
  const ourKey = await provider.getKey('gen-p-256');
  const msgFile = join(store.dir, 'msg.bin');
  const sigFile = join(store.dir, 'sig.bin');
  const msg = Buffer.from('pkcs11-tool signs with a key we generated');
  (await import('node:fs')).writeFileSync(msgFile, msg);
  (await import('node:fs')).writeFileSync(msgFile, createHash('sha256').update(msg).digest());
  store.pkcs11Tool(['--token-label', TOKEN, '--login', '--pin', PIN, '--sign', '--mechanism', 'ECDSA', '--id', ourKey.id, '-i', msgFile, '-o', sigFile]);
  const sig = readFileSync(sigFile);
  assert.equal(sig.length, 64);
  const pub = createPublicKey({ key: Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), ourKey.publicKey!]), format: 'der', type: 'spki' });
  assert.ok(nodeVerify('sha256', msg, { key: pub, dsaEncoding: 'ieee-p1363' }, sig));
});

test('listKeys shows every key pair with its attributes; deleteKey removes both halves', async () => {
  const keys = await provider.listKeys();
  const labels = keys.map((k) => k.label);
  for (const l of ['opensc-k1', 'opensc-ed', 'gen-ed25519', 'imp-p-256']) assert.ok(labels.includes(l), `${l} listed`);
  await provider.generateKey('ed25519', 'to-delete');
  await provider.deleteKey('to-delete');
  assert.ok(!(await provider.listKeys()).some((k) => k.label === 'to-delete'));
  const listing = store.pkcs11Tool(['--token-label', TOKEN, '--login', '--pin', PIN, '--list-objects']);
  assert.doesNotMatch(listing, /to-delete/);
  await rejectsCode(provider.deleteKey('to-delete'), 'HSM_KEY_NOT_FOUND');
});

test('concurrent signing over the session pool: all signatures verify', async () => {
  const key = await provider.resolveKey('gen-ed25519');
  const msgs = Array.from({ length: 40 }, (_, i) => Buffer.from(`concurrent ${i}`));
  const sigs = await Promise.all(msgs.map((m) => provider.signWith(key, m)));
  sigs.forEach((sig, i) => assert.ok(verifySignature(key.suite, key.publicKey, msgs[i]!, sig)));
});

test('clear errors: wrong PIN, missing token, missing key, missing library, KEM key type', async () => {
  // (Login state is per process and token in PKCS#11, so the wrong PIN is tried on the token nobody here is logged into.)
  const wrong = newProvider({ tokenLabel: 'qbind-other-token', pin: '999999' });
  const err = await rejectsCode(wrong.connect(), 'HSM_LOGIN_FAILED', /token 'qbind-other-token'.*PIN was rejected \(CKR_PIN_INCORRECT\)/);
  assert.ok(!err.message.includes('999999'));
  assert.equal(wrong.connected, false);
  await rejectsCode(newProvider({ tokenLabel: 'no-such-token' }).connect(), 'HSM_TOKEN_NOT_FOUND', /no token labelled 'no-such-token'.*'qbind-provider-test'/);
  await rejectsCode(newProvider({ tokenLabel: undefined, slotId: 987654 }).connect(), 'HSM_TOKEN_NOT_FOUND', /no slot with id 987654/);
  await rejectsCode(provider.getKey('no-such-key'), 'HSM_KEY_NOT_FOUND', /no private key labelled 'no-such-key' on token 'qbind-provider-test'/);
  await rejectsCode(provider.sign('no-such-key', Buffer.from('x')), 'HSM_KEY_NOT_FOUND');
  await rejectsCode(newProvider({ libraryPath: join(store.dir, 'missing.so') }).connect(), 'HSM_LIBRARY_LOAD', /missing\.so does not exist/);
  await rejectsCode(newProvider({ libraryPath: store.conf }).connect(), 'HSM_LIBRARY_LOAD', /cannot load PKCS#11 library/);
  // The provider that failed did not disturb the live one.
  const key = await provider.resolveKey('gen-secp256k1');
  assert.ok(verifySignature(key.suite, key.publicKey, Buffer.from('still fine'), await provider.signWith(key, Buffer.from('still fine'))));
});

test('slot_id selects the token by CK_SLOT_ID, or by index like pkcs11-tool "Slot N"', async () => {
  const status = await provider.tokenStatus();
  const byId = newProvider({ tokenLabel: undefined, slotId: status.slotId });
  await byId.connect();
  assert.equal(byId.tokenLabel, TOKEN);
  await byId.close();
  const { lib } = otherHandle();
  const index = lib.C_GetSlotList(true).findIndex((sl) => lib.C_GetTokenInfo(sl).label.trim() === TOKEN);
  assert.ok(index >= 0 && index !== status.slotId);
  const byIndex = newProvider({ tokenLabel: TOKEN, slotId: index });
  await byIndex.connect();
  assert.equal(byIndex.tokenLabel, TOKEN);
  await byIndex.close();
  await rejectsCode(newProvider({ tokenLabel: 'qbind-other-token', slotId: status.slotId }).connect(), 'HSM_TOKEN_NOT_FOUND', /holds token 'qbind-provider-test', not 'qbind-other-token'/);
});

function otherHandle(): ReturnType<typeof openTokenHandle> {
  return openTokenHandle(store.libraryPath, TOKEN);
}

test('a session broken mid-run (all sessions closed, then logout) is recovered and counted', async () => {
  const events: string[] = [];
  const p = newProvider({ onRecovery: (kind, ok) => events.push(`${kind}:${ok}`) });
  await p.connect();
  const key = await p.resolveKey('gen-ed25519');
  const msg = Buffer.from('before the break');
  assert.ok(verifySignature(key.suite, key.publicKey, msg, await p.signWith(key, msg)));

  const { lib, slot } = otherHandle();
  lib.C_CloseAllSessions(slot); // closes every session of this process on the token, ours too
  const sig = await p.signWith(key, Buffer.from('after close-all'));
  assert.ok(verifySignature(key.suite, key.publicKey, Buffer.from('after close-all'), sig));
  assert.deepEqual(events, ['session:true']);

  // Log the application out from another session: our sessions stay open but lose the login.
  const s = lib.C_OpenSession(slot, 4);
  lib.C_Logout(s);
  lib.C_CloseSession(s);
  const sigs = await Promise.all([1, 2, 3, 4, 5].map((i) => p.signWith(key, Buffer.from(`after logout ${i}`))));
  sigs.forEach((sg, i) => assert.ok(verifySignature(key.suite, key.publicKey, Buffer.from(`after logout ${i + 1}`), sg)));
  // SoftHSM answers C_SignInit of a logged-out session with CKR_KEY_HANDLE_INVALID first; the key lookup then sees the lost login.
  assert.ok(events.slice(1).includes('session:true'), events.join(','));
  assert.ok(events.every((e) => e === 'session:true' || e === 'stale-handle:true'), events.join(','));
  await p.close();
  // The shared provider lost its sessions too, and recovers on its next call.
  assert.ok((await provider.listKeys()).length > 0);
  await rejectsCode(p.signWith(key, msg), 'HSM_NOT_CONNECTED');
  await rejectsCode(p.connect(), 'HSM_NOT_CONNECTED', /was closed; create a new one/);
});

test('a key deleted mid-run is not silently replaced: the signer fails closed', async () => {
  const p = newProvider();
  await p.connect();
  await p.generateKey('p-256', 'vanishing');
  const key = await p.resolveKey('vanishing');
  await p.signWith(key, Buffer.from('ok'));
  await provider.deleteKey('vanishing');
  await rejectsCode(p.signWith(key, Buffer.from('after delete')), 'HSM_KEY_NOT_FOUND', /no private key labelled 'vanishing'/);
  // Same label, different key: refused, not used.
  await provider.generateKey('p-256', 'vanishing');
  await rejectsCode(p.signWith(key, Buffer.from('after replace')), 'HSM_KEY_MISMATCH', /no longer has the public key/);
  await p.close();
});

test('a token that does not answer in time: the signature fails after sign_timeout_ms, the session comes back later', async () => {
  const lib = new pkcs11js.PKCS11();
  lib.load(store.libraryPath);
  let delayMs = 400;
  // A slow token: the real SoftHSM2 behind a layer that holds each C_SignAsync answer back.
  const slow = new Proxy(lib, {
    get(target, key) {
      if (key === 'C_SignAsync') {
        return async (s: Buffer, data: Buffer, out: Buffer) => {
          const sig = await target.C_SignAsync(s, data, out);
          await new Promise((r) => setTimeout(r, delayMs));
          return sig;
        };
      }
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const p = newProvider({ api: slow, sessions: 1, signTimeoutMs: 100 });
  await p.connect();
  const key = await p.resolveKey('gen-ed25519');
  const started = performance.now();
  await rejectsCode(p.signWith(key, Buffer.from('slow')), 'HSM_OPERATION_FAILED', /did not return a signature with key 'gen-ed25519' within 100 ms/);
  assert.ok(performance.now() - started < 350, 'failed at the timeout, not when the token answered');
  delayMs = 0;
  // The only session is out until the slow answer arrives (the timeout counts the wait for a session too).
  await rejectsCode(p.signWith(key, Buffer.from('queued')), 'HSM_OPERATION_FAILED', /within 100 ms/);
  await new Promise((r) => setTimeout(r, 400));
  const sig = await p.signWith(key, Buffer.from('fast again'));
  assert.ok(verifySignature(key.suite, key.publicKey, Buffer.from('fast again'), sig));
  await p.close();
});

test('a private key swapped under the label and id of the key in use (its public object left in place) is refused after the reconnect', async () => {
  const p = newProvider();
  await p.connect();
  await p.generateKey('ed25519', 'swap-a');
  await p.generateKey('ed25519', 'swap-b');
  const key = await p.resolveKey('swap-a');
  assert.ok(verifySignature(key.suite, key.publicKey, Buffer.from('before'), await p.signWith(key, Buffer.from('before'))));
  // On the token: delete A's private key and give B's private key A's label and id; A's public key object stays.
  const { lib, slot } = otherHandle();
  const s = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  const find = (cls: number, label: string): Buffer[] => {
    lib.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_CLASS, value: cls }, { type: pkcs11js.CKA_LABEL, value: label }]);
    const found = lib.C_FindObjects(s, 10);
    lib.C_FindObjectsFinal(s);
    return found;
  };
  const [aPublic] = find(pkcs11js.CKO_PUBLIC_KEY, 'swap-a');
  const aId = lib.C_GetAttributeValue(s, aPublic!, [{ type: pkcs11js.CKA_ID }])[0]!.value as Buffer;
  for (const h of find(pkcs11js.CKO_PRIVATE_KEY, 'swap-a')) lib.C_DestroyObject(s, h);
  const [bPrivate] = find(pkcs11js.CKO_PRIVATE_KEY, 'swap-b');
  lib.C_SetAttributeValue(s, bPrivate!, [{ type: pkcs11js.CKA_LABEL, value: 'swap-a' }, { type: pkcs11js.CKA_ID, value: aId }]);
  lib.C_CloseSession(s);
  await rejectsCode(p.signWith(key, Buffer.from('after swap')), 'HSM_KEY_MISMATCH', /does not sign for public key/);
  await p.close();
});
