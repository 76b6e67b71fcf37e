// The KEMTLS v1 handshake as pure state machines, without I/O: ClientHandshake
// builds the ClientHello and answers the ServerHello with ClientFinished;
// ServerHandshake answers a ClientHello with a ServerHello and checks
// ClientFinished. Both end with the same TrafficKeys. The socket drivers
// (client.ts, server.ts) and the test vector use these directly.
// Layouts, key schedule and transcript: docs/kemtls.md.

import type { KeyObject } from 'node:crypto';
import { decapsulate, importKemPublicKey, type KemKeyPair } from '../crypto/kem.ts';
import { publicKeyFingerprint } from '../crypto/fingerprint.ts';
import { aeadKey, aeadOpen, aeadSeal, AEAD_NONCE_BYTES } from './aead.ts';
import { systemEntropy, type KemtlsEntropy } from './entropy.ts';
import { finishedMac, initialChainingKey, macEqual, mixKey, Transcript, trafficKeys, type TrafficKeys } from './key-schedule.ts';
import { KemtlsError } from './kemtls-error.ts';
import {
  CLIENT_FINISHED_BODY_BYTES, CLIENT_HELLO_BODY_BYTES, checkPreamble, encodeFrame, encodeFrameHeader, encodePreamble,
  FRAME_CLIENT_FINISHED, FRAME_CLIENT_HELLO, FRAME_HEADER_BYTES, FRAME_SERVER_HELLO, KEM_CIPHERTEXT_BYTES,
  KEM_PUBLIC_KEY_BYTES, MAC_BYTES, PREAMBLE_BYTES, RANDOM_BYTES, SERVER_HELLO_BODY_BYTES, AEAD_TAG_BYTES,
} from './wire.ts';

const ZERO_NONCE = Buffer.alloc(AEAD_NONCE_BYTES);

/** Receives named intermediate values (copies). For the test vector and debugging only: never wire it to a log. */
export type HandshakeTrace = (name: string, value: Buffer) => void;

/** preamble || ClientHello frame. */
export const CLIENT_HELLO_BYTES = PREAMBLE_BYTES + FRAME_HEADER_BYTES + CLIENT_HELLO_BODY_BYTES;
export const SERVER_HELLO_BYTES = FRAME_HEADER_BYTES + SERVER_HELLO_BODY_BYTES;
export const CLIENT_FINISHED_BYTES = FRAME_HEADER_BYTES + CLIENT_FINISHED_BODY_BYTES;

function wipe(...buffers: (Buffer | null | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}

function expectFrame(bytes: Uint8Array, type: number, bodyLength: number, what: string): Buffer {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < FRAME_HEADER_BYTES || buf[0] !== type || buf.readUInt32BE(1) !== bodyLength || buf.length !== FRAME_HEADER_BYTES + bodyLength) {
    throw new KemtlsError('UNEXPECTED_MESSAGE', `expected a ${what} frame (type 0x${type.toString(16).padStart(2, '0')}, ${bodyLength}-byte body), got ${buf.length} bytes starting with type 0x${(buf[0] ?? 0).toString(16).padStart(2, '0')}`);
  }
  return buf;
}

export interface ClientHandshakeOptions {
  clientKey: KemKeyPair;
  /** Raw ML-KEM-768 public key of the server (1184 bytes). */
  serverPublicKey: Uint8Array;
  /** The same key already imported (saves ~80 us per handshake); must match serverPublicKey. */
  serverPublicKeyObject?: KeyObject;
  entropy?: KemtlsEntropy;
  trace?: HandshakeTrace;
}

export class ClientHandshake {
  readonly #options: ClientHandshakeOptions;
  readonly #entropy: KemtlsEntropy;
  readonly #transcript = new Transcript();
  #state: 'start' | 'wait_server_hello' | 'done' | 'failed' = 'start';
  #ephemeral: KemKeyPair | null = null;
  #ck1: Buffer | null = null;
  #keys: TrafficKeys | null = null;

  constructor(options: ClientHandshakeOptions) {
    if (options.serverPublicKey.length !== KEM_PUBLIC_KEY_BYTES) {
      throw new KemtlsError('BAD_OPTIONS', `server public key must be ${KEM_PUBLIC_KEY_BYTES} bytes (ML-KEM-768), got ${options.serverPublicKey.length}`);
    }
    if (options.clientKey.publicKey.length !== KEM_PUBLIC_KEY_BYTES) {
      throw new KemtlsError('BAD_OPTIONS', `client key must be an ML-KEM-768 key pair (${KEM_PUBLIC_KEY_BYTES}-byte public key), got ${options.clientKey.publicKey.length}`);
    }
    this.#options = options;
    this.#entropy = options.entropy ?? systemEntropy;
  }

  /** Traffic keys, once finish() succeeded. */
  get keys(): TrafficKeys {
    if (!this.#keys) throw new KemtlsError('UNEXPECTED_MESSAGE', 'client handshake is not complete');
    return this.#keys;
  }

  /** preamble || ClientHello. */
  start(): Buffer {
    if (this.#state !== 'start') throw new KemtlsError('UNEXPECTED_MESSAGE', `client handshake already started (state ${this.#state})`);
    this.#state = 'failed';
    const { clientKey, serverPublicKey, trace } = this.#options;
    const eph = this.#entropy.ephemeralKey();
    const clientRandom = this.#entropy.random(RANDOM_BYTES);
    let toServer;
    try {
      toServer = this.#entropy.encapsulate(this.#options.serverPublicKeyObject ?? serverPublicKey);
    } catch (err) {
      throw new KemtlsError('BAD_OPTIONS', 'server public key is not a valid ML-KEM-768 encapsulation key', { cause: err });
    }
    const prefix = Buffer.concat([encodePreamble(), encodeFrameHeader(FRAME_CLIENT_HELLO, CLIENT_HELLO_BODY_BYTES), clientRandom, toServer.ciphertext, eph.publicKey]);
    this.#transcript.update(serverPublicKey).update(prefix);
    const th1 = this.#transcript.snapshot();
    const stage1 = mixKey(initialChainingKey(), toServer.sharedSecret, 'ck1', th1, 64); // ck1 || k_id
    const ck1 = stage1.subarray(0, 32);
    const kId = stage1.subarray(32);
    const encIdentity = aeadSeal(aeadKey(kId), ZERO_NONCE, th1, clientKey.publicKey);
    this.#transcript.update(encIdentity);
    if (trace) {
      trace('ss_S', Buffer.from(toServer.sharedSecret));
      trace('th1', th1);
      trace('ck1', Buffer.from(ck1));
      trace('k_id', Buffer.from(kId));
    }
    wipe(toServer.sharedSecret, kId);
    this.#ephemeral = eph;
    this.#ck1 = ck1;
    this.#state = 'wait_server_hello';
    return Buffer.concat([prefix, encIdentity]);
  }

  /** Checks the ServerHello frame (header || body) and returns the ClientFinished frame. */
  /** Drops the ephemeral key and wipes the chaining key of a handshake that will not finish. */
  abort(): void {
    wipe(this.#ck1);
    this.#ck1 = null;
    this.#ephemeral = null;
  }

  finish(serverHello: Uint8Array): Buffer {
    if (this.#state !== 'wait_server_hello') throw new KemtlsError('UNEXPECTED_MESSAGE', `ServerHello not expected in state ${this.#state}`);
    this.#state = 'failed';
    const sh = expectFrame(serverHello, FRAME_SERVER_HELLO, SERVER_HELLO_BODY_BYTES, 'ServerHello');
    const eph = this.#ephemeral!;
    const ck1 = this.#ck1!;
    this.#ephemeral = null;
    this.#ck1 = null;
    const { clientKey, trace } = this.#options;
    let o = FRAME_HEADER_BYTES;
    const ctE = sh.subarray(o + RANDOM_BYTES, (o += RANDOM_BYTES + KEM_CIPHERTEXT_BYTES));
    const encCtC = sh.subarray(o, (o += KEM_CIPHERTEXT_BYTES + AEAD_TAG_BYTES));
    const serverFinished = sh.subarray(o, o + MAC_BYTES);

    this.#transcript.update(clientKey.publicKey).update(sh.subarray(0, FRAME_HEADER_BYTES + RANDOM_BYTES + KEM_CIPHERTEXT_BYTES));
    const th2 = this.#transcript.snapshot();
    const ssE = decapsulate(eph.privateKey, ctE);
    const stage2 = mixKey(ck1, ssE, 'ck2', th2, 64); // ck2 || k_sh
    const ck2 = stage2.subarray(0, 32);
    const kSh = stage2.subarray(32);
    const ctC = aeadOpen(aeadKey(kSh), ZERO_NONCE, th2, encCtC);
    if (!ctC) {
      wipe(ck1, ssE, ck2, kSh);
      throw new KemtlsError('BAD_SERVER_HELLO', 'ServerHello does not decrypt: the server does not hold the expected server key, or the message was tampered with');
    }
    this.#transcript.update(encCtC);
    const th3 = this.#transcript.snapshot();
    const ssC = decapsulate(clientKey.privateKey, ctC);
    const stage3 = mixKey(ck2, ssC, 'ck3', th3, 96); // ck3 || fk_s || fk_c
    const ck3 = stage3.subarray(0, 32);
    const fkS = stage3.subarray(32, 64);
    const fkC = stage3.subarray(64);
    const expected = finishedMac(fkS, th3);
    if (trace) {
      for (const [k, v] of [['th2', th2], ['ss_e', ssE], ['ck2', ck2], ['k_sh', kSh], ['ct_C', ctC], ['th3', th3], ['ss_C', ssC], ['ck3', ck3], ['fk_s', fkS], ['fk_c', fkC]] as const) trace(k, Buffer.from(v));
    }
    if (!macEqual(expected, serverFinished)) {
      wipe(ck1, ssE, ck2, kSh, ssC, ck3, fkS, fkC);
      throw new KemtlsError('BAD_SERVER_FINISHED', 'ServerFinished does not verify: the server could not decapsulate to the expected key, or the handshake was tampered with');
    }
    this.#transcript.update(serverFinished);
    const th4 = this.#transcript.snapshot();
    const cf = encodeFrame(FRAME_CLIENT_FINISHED, finishedMac(fkC, th4));
    this.#transcript.update(cf);
    const th5 = this.#transcript.snapshot();
    this.#keys = trafficKeys(ck3, th5);
    if (trace) {
      trace('th4', th4);
      trace('th5', th5);
    }
    wipe(ck1, ssE, ck2, kSh, ssC, ck3, fkS, fkC);
    this.#state = 'done';
    return cf;
  }
}

export interface ServerHandshakeOptions {
  serverKey: KemKeyPair;
  /** The client's imported public key when it may connect, null when it may not. */
  authorize: (clientPublicKey: Buffer) => KeyObject | null;
  /** True when this ClientHello (identified by th1) was seen before; records it otherwise. */
  isReplay?: (th1: Buffer) => boolean;
  entropy?: KemtlsEntropy;
  trace?: HandshakeTrace;
}

export class ServerHandshake {
  readonly #options: ServerHandshakeOptions;
  readonly #entropy: KemtlsEntropy;
  readonly #transcript = new Transcript();
  #state: 'wait_client_hello' | 'wait_client_finished' | 'done' | 'failed' = 'wait_client_hello';
  /** ck3 || fk_s || fk_c until ClientFinished is checked. */
  #stage3: Buffer | null = null;
  #th4: Buffer | null = null;
  #clientPublicKey: Buffer | null = null;
  #keys: TrafficKeys | null = null;

  constructor(options: ServerHandshakeOptions) {
    this.#options = options;
    this.#entropy = options.entropy ?? systemEntropy;
  }

  /** The client's static public key, known once respond() succeeded. */
  get clientPublicKey(): Buffer {
    if (!this.#clientPublicKey) throw new KemtlsError('UNEXPECTED_MESSAGE', 'client is not identified yet');
    return this.#clientPublicKey;
  }

  get keys(): TrafficKeys {
    if (!this.#keys) throw new KemtlsError('UNEXPECTED_MESSAGE', 'server handshake is not complete');
    return this.#keys;
  }

  /** Checks preamble || ClientHello and returns the ServerHello frame. */
  respond(clientHello: Uint8Array): Buffer {
    if (this.#state !== 'wait_client_hello') throw new KemtlsError('UNEXPECTED_MESSAGE', `ClientHello not expected in state ${this.#state}`);
    this.#state = 'failed';
    const ch = Buffer.from(clientHello.buffer, clientHello.byteOffset, clientHello.byteLength);
    checkPreamble(ch.subarray(0, PREAMBLE_BYTES));
    expectFrame(ch.subarray(PREAMBLE_BYTES), FRAME_CLIENT_HELLO, CLIENT_HELLO_BODY_BYTES, 'ClientHello');
    const { serverKey, trace } = this.#options;
    let o = PREAMBLE_BYTES + FRAME_HEADER_BYTES + RANDOM_BYTES;
    const ctS = ch.subarray(o, (o += KEM_CIPHERTEXT_BYTES));
    const pkE = ch.subarray(o, (o += KEM_PUBLIC_KEY_BYTES));
    const prefix = ch.subarray(0, o);
    const encIdentity = ch.subarray(o);

    this.#transcript.update(serverKey.publicKey).update(prefix);
    const th1 = this.#transcript.snapshot();
    const ssS = decapsulate(serverKey.privateKey, ctS);
    const stage1 = mixKey(initialChainingKey(), ssS, 'ck1', th1, 64); // ck1 || k_id
    const ck1 = stage1.subarray(0, 32);
    const kId = stage1.subarray(32);
    const clientPublicKey = aeadOpen(aeadKey(kId), ZERO_NONCE, th1, encIdentity);
    wipe(ssS, kId);
    if (!clientPublicKey) {
      wipe(ck1);
      throw new KemtlsError('CLIENT_HELLO_DECRYPT_FAILED', 'ClientHello identity does not decrypt: the client encapsulated to another server key, or the message was tampered with');
    }
    let clientKeyObject: KeyObject | null = null;
    try {
      clientKeyObject = this.#options.authorize(clientPublicKey);
    } catch {
      clientKeyObject = null; // a failing allow-list check refuses (fail closed)
    }
    if (!clientKeyObject) {
      wipe(ck1);
      throw new KemtlsError('UNKNOWN_CLIENT', `client key ${publicKeyFingerprint(clientPublicKey)} is not on the allow list`);
    }
    let ephemeral: KeyObject;
    try {
      ephemeral = importKemPublicKey(pkE);
    } catch (err) {
      wipe(ck1);
      throw new KemtlsError('BAD_CLIENT_HELLO', 'ClientHello ephemeral key is not a valid ML-KEM-768 encapsulation key', { cause: err });
    }
    if (this.#options.isReplay?.(th1)) {
      wipe(ck1);
      throw new KemtlsError('REPLAYED_HANDSHAKE', `ClientHello from client ${publicKeyFingerprint(clientPublicKey)} was already seen (replayed handshake)`);
    }
    this.#transcript.update(encIdentity).update(clientPublicKey);

    const serverRandom = this.#entropy.random(RANDOM_BYTES);
    const toEphemeral = this.#entropy.encapsulate(ephemeral);
    const shPrefix = Buffer.concat([encodeFrameHeader(FRAME_SERVER_HELLO, SERVER_HELLO_BODY_BYTES), serverRandom, toEphemeral.ciphertext]);
    this.#transcript.update(shPrefix);
    const th2 = this.#transcript.snapshot();
    const stage2 = mixKey(ck1, toEphemeral.sharedSecret, 'ck2', th2, 64); // ck2 || k_sh
    const ck2 = stage2.subarray(0, 32);
    const kSh = stage2.subarray(32);
    const toClient = this.#entropy.encapsulate(clientKeyObject);
    const encCtC = aeadSeal(aeadKey(kSh), ZERO_NONCE, th2, toClient.ciphertext);
    this.#transcript.update(encCtC);
    const th3 = this.#transcript.snapshot();
    const stage3 = mixKey(ck2, toClient.sharedSecret, 'ck3', th3, 96); // ck3 || fk_s || fk_c
    const fkS = stage3.subarray(32, 64);
    const serverFinished = finishedMac(fkS, th3);
    this.#transcript.update(serverFinished);
    this.#th4 = this.#transcript.snapshot();
    if (trace) {
      for (const [k, v] of [['ss_e', toEphemeral.sharedSecret], ['ss_C', toClient.sharedSecret], ['ck2', ck2], ['ck3', stage3.subarray(0, 32)]] as const) trace(k, Buffer.from(v));
    }
    wipe(stage1, toEphemeral.sharedSecret, stage2, toClient.sharedSecret);
    this.#stage3 = stage3;
    this.#clientPublicKey = clientPublicKey;
    this.#state = 'wait_client_finished';
    return Buffer.concat([shPrefix, encCtC, serverFinished]);
  }

  /** Checks the ClientFinished frame; keys are available afterwards. */
  /** Wipes the key material of a handshake that will not finish (timeout, eviction, peer gone). */
  abort(): void {
    wipe(this.#stage3, this.#th4);
    this.#stage3 = null;
    this.#th4 = null;
  }

  finish(clientFinished: Uint8Array): void {
    if (this.#state !== 'wait_client_finished') throw new KemtlsError('UNEXPECTED_MESSAGE', `ClientFinished not expected in state ${this.#state}`);
    this.#state = 'failed';
    const stage3 = this.#stage3!;
    this.#stage3 = null;
    try {
      const cf = expectFrame(clientFinished, FRAME_CLIENT_FINISHED, CLIENT_FINISHED_BODY_BYTES, 'ClientFinished');
      const ok = macEqual(finishedMac(stage3.subarray(64), this.#th4!), cf.subarray(FRAME_HEADER_BYTES));
      if (!ok) {
        throw new KemtlsError('BAD_CLIENT_FINISHED', `ClientFinished from client ${publicKeyFingerprint(this.#clientPublicKey!)} does not verify: the client does not hold its static key, or the handshake was tampered with or replayed`);
      }
      this.#transcript.update(cf);
      this.#keys = trafficKeys(stage3.subarray(0, 32), this.#transcript.snapshot());
      this.#state = 'done';
    } finally {
      wipe(stage3);
    }
  }
}
