// The KEMTLS test vector's fixture: deterministic randomness (fixed hello
// randoms, a fixed ephemeral seed, and encapsulations with fixed messages m
// computed by @noble/post-quantum, an ML-KEM implementation independent of
// OpenSSL) and computeVector(), which runs the real handshake code on it and
// collects every value test/vectors/kemtls-v1.json pins. Shared by
// vector.test.ts and make-vector.ts; never used outside tests.

import type { KeyObject } from 'node:crypto';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { importKemKey, type Encapsulation, type KemKeyPair } from '../../src/crypto/kem.ts';
import { exportPublicKeyBytes } from '../../src/crypto/key-encoding.ts';
import { ClientHandshake, COALESCE_LIMIT, PROTOCOL_NAME, packMessages, RecordSealer, ServerHandshake, FRAME_APPLICATION_DATA, type KemtlsEntropy } from '../../src/kemtls/index.ts';

const range = (start: number, n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (start + i) & 0xff));

/** The vector's fixed inputs: 64-byte ML-KEM seeds d||z, 32-byte randoms and encapsulation messages. */
export const VECTOR_INPUTS = {
  server_static_seed: range(0x00, 64),
  client_static_seed: range(0x40, 64),
  client_ephemeral_seed: range(0x80, 64),
  client_random: range(0xc0, 32),
  server_random: range(0xe0, 32),
  encaps_m_server_static: Buffer.alloc(32, 0x11),
  encaps_m_client_ephemeral: Buffer.alloc(32, 0x22),
  encaps_m_client_static: Buffer.alloc(32, 0x33),
};

export interface RecordedEncapsulation {
  publicKey: Buffer;
  m: Buffer;
  ciphertext: Buffer;
  sharedSecret: Buffer;
}

/** One side's entropy: hands out the given randoms and messages in order, and records each encapsulation. */
export function vectorEntropy(randoms: Buffer[], messages: Buffer[], ephemeralSeed?: Buffer): KemtlsEntropy & { encapsulations: RecordedEncapsulation[] } {
  const r = [...randoms];
  const m = [...messages];
  const encapsulations: RecordedEncapsulation[] = [];
  return {
    encapsulations,
    random(n: number): Buffer {
      const next = r.shift();
      if (!next || next.length !== n) throw new Error(`vector entropy: no ${n}-byte random left`);
      return Buffer.from(next);
    },
    ephemeralKey(): KemKeyPair {
      if (!ephemeralSeed) throw new Error('vector entropy: no ephemeral seed on this side');
      return importKemKey(ephemeralSeed);
    },
    encapsulate(publicKey: KeyObject | Uint8Array): Encapsulation {
      const msg = m.shift();
      if (!msg) throw new Error('vector entropy: no encapsulation message left');
      const raw = publicKey instanceof Uint8Array ? Buffer.from(publicKey) : exportPublicKeyBytes('ml-kem-768', publicKey);
      const { cipherText, sharedSecret } = ml_kem768.encapsulate(raw, msg);
      const e = { ciphertext: Buffer.from(cipherText), sharedSecret: Buffer.from(sharedSecret) };
      encapsulations.push({ publicKey: raw, m: msg, ciphertext: Buffer.from(e.ciphertext), sharedSecret: Buffer.from(e.sharedSecret) });
      return e;
    },
  };
}

export function vectorClientEntropy() {
  return vectorEntropy([VECTOR_INPUTS.client_random], [VECTOR_INPUTS.encaps_m_server_static], VECTOR_INPUTS.client_ephemeral_seed);
}

export function vectorServerEntropy() {
  return vectorEntropy([VECTOR_INPUTS.server_random], [VECTOR_INPUTS.encaps_m_client_ephemeral, VECTOR_INPUTS.encaps_m_client_static]);
}

export const VECTOR_CLIENT_MESSAGE = Buffer.from('ping from the node', 'utf8');
export const VECTOR_SERVER_MESSAGE = Buffer.from('pong from the remote signer', 'utf8');

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export type VectorJson = {
  description: string;
  protocol: string;
  inputs: Record<string, string>;
  public_keys: Record<string, string>;
  kem: Record<string, string>;
  transcript: Record<string, string>;
  key_schedule: Record<string, string>;
  traffic: Record<string, string>;
  messages: Record<string, string>;
};

/** Runs ClientHandshake and ServerHandshake on the fixed inputs and returns every pinned value (hex). */
export function computeVector(): VectorJson {
  const serverKey = importKemKey(VECTOR_INPUTS.server_static_seed);
  const clientKey = importKemKey(VECTOR_INPUTS.client_static_seed);
  const ephemeral = importKemKey(VECTOR_INPUTS.client_ephemeral_seed);
  const trace: Record<string, string> = {};
  const clientEntropy = vectorClientEntropy();
  const serverEntropy = vectorServerEntropy();
  const client = new ClientHandshake({ clientKey, serverPublicKey: serverKey.publicKey, entropy: clientEntropy, trace: (k, v) => (trace[k] = hex(v)) });
  const serverTrace: Record<string, string> = {};
  const server = new ServerHandshake({
    serverKey,
    authorize: (pk) => (pk.equals(clientKey.publicKey) ? clientKey.publicKeyObject : null),
    entropy: serverEntropy,
    trace: (k, v) => (serverTrace[k] = hex(v)),
  });
  const clientHello = client.start();
  const serverHello = server.respond(clientHello);
  const clientFinished = client.finish(serverHello);
  server.finish(clientFinished);
  for (const k of ['ss_e', 'ss_C', 'ck2', 'ck3']) {
    if (serverTrace[k] !== trace[k]) throw new Error(`client and server disagree on ${k}`);
  }
  const keys = client.keys;
  const firstClientRecord = new RecordSealer(server.keys.clientToServer).seal(FRAME_APPLICATION_DATA, packMessages([VECTOR_CLIENT_MESSAGE], COALESCE_LIMIT)[0]!);
  const firstServerRecord = new RecordSealer(server.keys.serverToClient).seal(FRAME_APPLICATION_DATA, packMessages([VECTOR_SERVER_MESSAGE], COALESCE_LIMIT)[0]!);
  const [toServer] = clientEntropy.encapsulations;
  const [toEphemeral, toClient] = serverEntropy.encapsulations;
  return {
    description: 'QBIND KEMTLS v1 handshake with fixed keys and randomness (docs/kemtls.md, "Test vector"). All values hex.',
    protocol: PROTOCOL_NAME,
    inputs: Object.fromEntries(Object.entries(VECTOR_INPUTS).map(([k, v]) => [k, hex(v)])),
    public_keys: { server_static: hex(serverKey.publicKey), client_static: hex(clientKey.publicKey), client_ephemeral: hex(ephemeral.publicKey) },
    kem: {
      ct_S: hex(toServer!.ciphertext), ss_S: hex(toServer!.sharedSecret),
      ct_e: hex(toEphemeral!.ciphertext), ss_e: hex(toEphemeral!.sharedSecret),
      ct_C: hex(toClient!.ciphertext), ss_C: hex(toClient!.sharedSecret),
    },
    transcript: { th1: trace.th1!, th2: trace.th2!, th3: trace.th3!, th4: trace.th4!, th5: trace.th5! },
    key_schedule: { ck1: trace.ck1!, k_id: trace.k_id!, ck2: trace.ck2!, k_sh: trace.k_sh!, ck3: trace.ck3!, fk_s: trace.fk_s!, fk_c: trace.fk_c! },
    traffic: {
      client_to_server_key: hex(keys.clientToServer.key), client_to_server_iv: hex(keys.clientToServer.iv),
      server_to_client_key: hex(keys.serverToClient.key), server_to_client_iv: hex(keys.serverToClient.iv),
    },
    messages: {
      client_hello: hex(clientHello),
      server_hello: hex(serverHello),
      client_finished: hex(clientFinished),
      first_client_record_plaintext: hex(VECTOR_CLIENT_MESSAGE),
      first_client_record: hex(firstClientRecord),
      first_server_record_plaintext: hex(VECTOR_SERVER_MESSAGE),
      first_server_record: hex(firstServerRecord),
    },
  };
}
