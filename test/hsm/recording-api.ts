// Test-only PKCS#11 layer between the provider and the real SoftHSM2 library.
// It records the calls that matter (key generation, object creation, sign
// init, sign, searches) with their exact mechanisms and templates, and can
// emulate the PKCS#11 3.2 ML-DSA mechanisms that SoftHSM2 2.6 lacks, computing
// ML-DSA with node:crypto. Everything else goes to the real token. Used only
// by tests (test/hsm, test/config); docs/hsm.md says which key types ran
// against a real token and which only here. With `statePath` the emulated
// objects are kept in a file, so a child process (the remote signer daemon,
// through emulate-mldsa-preload.ts) sees keys a test made.

import { sign as nodeSign, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { importSigningKey, suiteByName } from '../../src/crypto/index.ts';
import type { Attribute, AttributeResult, Handle, KeyPair, Mechanism, Pkcs11Api } from '../../src/hsm/pkcs11-api.ts';
import {
  CKA_ALWAYS_SENSITIVE, CKA_CLASS, CKA_EXTRACTABLE, CKA_KEY_TYPE, CKA_LOCAL, CKA_NEVER_EXTRACTABLE, CKA_PARAMETER_SET, CKA_SEED,
  CKA_SENSITIVE, CKA_VALUE, CKK_ML_DSA, CKM_ML_DSA, CKM_ML_DSA_KEY_PAIR_GEN, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY,
} from '../../src/hsm/pkcs11-constants.ts';

export interface RecordedCall {
  fn: string;
  mechanism?: number;
  parameter?: unknown;
  templates?: Attribute[][];
  data?: Buffer;
  /** What the real or emulated token answered: 'ok' or a CKR_* name. */
  result?: string;
}

type MlDsaName = 'ml-dsa-44' | 'ml-dsa-65' | 'ml-dsa-87';
const PARAMETER_NAMES: Record<number, MlDsaName> = { 1: 'ml-dsa-44', 2: 'ml-dsa-65', 3: 'ml-dsa-87' };

interface EmulatedObject {
  attrs: Map<number, Buffer>;
  key?: KeyObject;
}

function ckError(name: string): Error {
  const e = new Error(name);
  e.name = 'Pkcs11Error';
  return e;
}

function encode(value: Attribute['value']): Buffer {
  if (Buffer.isBuffer(value)) return Buffer.from(value);
  if (typeof value === 'boolean') return Buffer.from([value ? 1 : 0]);
  if (typeof value === 'number') {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(value));
    return b;
  }
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return Buffer.alloc(0);
}

function ulong(b: Buffer | undefined): number | undefined {
  return b && b.length === 8 ? Number(b.readBigUInt64LE(0)) : undefined;
}

const copyTemplate = (t: Attribute[]): Attribute[] => t.map((a) => ({ type: a.type, value: Buffer.isBuffer(a.value) ? Buffer.from(a.value) : a.value }));

export class RecordingApi implements Pkcs11Api {
  readonly calls: RecordedCall[] = [];
  readonly #real: Pkcs11Api;
  readonly #emulateMlDsa: boolean;
  readonly #objects = new Map<string, EmulatedObject>();
  #nextHandle = 0x7f00000000001n;
  readonly #searches = new Map<string, { template: Attribute[]; realDone: boolean; emulated: Handle[] }>();
  readonly #signOps = new Map<string, { key: EmulatedObject }>();

  readonly #statePath: string | undefined;

  constructor(real: Pkcs11Api, options: { emulateMlDsa?: boolean; statePath?: string } = {}) {
    this.#real = real;
    this.#emulateMlDsa = options.emulateMlDsa ?? false;
    this.#statePath = options.statePath;
    if (this.#statePath && existsSync(this.#statePath)) this.#load(this.#statePath);
  }

  /** Test-only persistence of emulated objects (private key seeds in clear: a throwaway test token). */
  #load(path: string): void {
    const state = JSON.parse(readFileSync(path, 'utf8')) as { next: string; objects: Array<{ handle: string; attrs: Record<string, string> }> };
    this.#nextHandle = BigInt(state.next);
    for (const o of state.objects) {
      const attrs = new Map(Object.entries(o.attrs).map(([t, hex]) => [Number(t), Buffer.from(hex, 'hex')]));
      const seed = attrs.get(CKA_SEED);
      const name = PARAMETER_NAMES[ulong(attrs.get(CKA_PARAMETER_SET)) ?? 0];
      const key = seed && name ? importSigningKey(suiteByName(name), seed).privateKey : undefined;
      this.#objects.set(o.handle, { attrs, ...(key ? { key } : {}) });
    }
  }

  #save(): void {
    if (!this.#statePath) return;
    const objects = [...this.#objects.entries()].map(([handle, o]) => ({ handle, attrs: Object.fromEntries([...o.attrs.entries()].map(([t, v]) => [String(t), v.toString('hex')])) }));
    writeFileSync(this.#statePath, JSON.stringify({ next: this.#nextHandle.toString(), objects }));
  }

  /** The recorded calls of one function. */
  of(fn: string): RecordedCall[] {
    return this.calls.filter((c) => c.fn === fn);
  }

  #record<T>(call: RecordedCall, run: () => T): T {
    this.calls.push(call);
    try {
      const r = run();
      call.result = 'ok';
      return r;
    } catch (err) {
      call.result = (err as Error).message;
      throw err;
    }
  }

  #isEmulated(h: Handle): boolean {
    return this.#objects.has(h.toString('hex'));
  }

  #newHandle(obj: EmulatedObject): Handle {
    const h = Buffer.alloc(8);
    h.writeBigUInt64LE(this.#nextHandle++);
    this.#objects.set(h.toString('hex'), obj);
    this.#save();
    return h;
  }

  C_Initialize(options?: { flags?: number }): void { this.#real.C_Initialize(options); }
  C_Finalize(): void { this.#real.C_Finalize(); }
  C_GetInfo() { return this.#real.C_GetInfo(); }
  C_GetSlotList(tokenPresent: boolean): Handle[] { return this.#real.C_GetSlotList(tokenPresent); }
  C_GetTokenInfo(slot: Handle) { return this.#real.C_GetTokenInfo(slot); }
  C_GetMechanismInfo(slot: Handle, mechanism: number) { return this.#real.C_GetMechanismInfo(slot, mechanism); }
  C_OpenSession(slot: Handle, flags: number): Handle { return this.#real.C_OpenSession(slot, flags); }
  C_CloseSession(session: Handle): void { this.#real.C_CloseSession(session); }
  C_CloseAllSessions(slot: Handle): void { this.#real.C_CloseAllSessions(slot); }
  C_GetSessionInfo(session: Handle) { return this.#real.C_GetSessionInfo(session); }
  C_Login(session: Handle, userType: number, pin: string): void { this.#real.C_Login(session, userType, pin); }
  C_Logout(session: Handle): void { this.#real.C_Logout(session); }
  C_WrapKey(session: Handle, mechanism: Mechanism, wrappingKey: Handle, key: Handle, out: Buffer): Buffer { return this.#real.C_WrapKey(session, mechanism, wrappingKey, key, out); }
  close(): void { this.#real.close(); }

  C_GetMechanismList(slot: Handle): number[] {
    const list = this.#real.C_GetMechanismList(slot);
    return this.#emulateMlDsa ? [...list, CKM_ML_DSA_KEY_PAIR_GEN, CKM_ML_DSA] : list;
  }

  C_GenerateKeyPair(session: Handle, mechanism: Mechanism, publicTemplate: Attribute[], privateTemplate: Attribute[]): KeyPair {
    return this.#record({ fn: 'C_GenerateKeyPair', mechanism: mechanism.mechanism, parameter: mechanism.parameter, templates: [copyTemplate(publicTemplate), copyTemplate(privateTemplate)] }, () => {
      if (!this.#emulateMlDsa || mechanism.mechanism !== CKM_ML_DSA_KEY_PAIR_GEN) return this.#real.C_GenerateKeyPair(session, mechanism, publicTemplate, privateTemplate);
      const ps = publicTemplate.find((a) => a.type === CKA_PARAMETER_SET)?.value;
      const name = typeof ps === 'number' ? PARAMETER_NAMES[ps] : undefined;
      if (!name) throw ckError('CKR_TEMPLATE_INCOMPLETE');
      if (privateTemplate.some((a) => a.type === CKA_PARAMETER_SET)) throw ckError('CKR_TEMPLATE_INCONSISTENT');
      const seed = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(32)));
      const pair = importSigningKey(suiteByName(name), seed);
      const pub: EmulatedObject = { attrs: new Map(publicTemplate.map((a) => [a.type, encode(a.value)])) };
      pub.attrs.set(CKA_VALUE, pair.publicKey);
      const priv: EmulatedObject = { attrs: new Map(privateTemplate.map((a) => [a.type, encode(a.value)])), key: pair.privateKey };
      priv.attrs.set(CKA_PARAMETER_SET, encode(ps));
      priv.attrs.set(CKA_SEED, seed); // PKCS#11 3.2: keygen contributes CKA_SEED (sensitive: never read back)
      for (const t of [CKA_LOCAL, CKA_ALWAYS_SENSITIVE]) priv.attrs.set(t, encode(true));
      priv.attrs.set(CKA_NEVER_EXTRACTABLE, encode(priv.attrs.get(CKA_EXTRACTABLE)?.[0] === 0));
      return { publicKey: this.#newHandle(pub), privateKey: this.#newHandle(priv) };
    });
  }

  C_CreateObject(session: Handle, template: Attribute[]): Handle {
    return this.#record({ fn: 'C_CreateObject', templates: [copyTemplate(template)] }, () => {
      const keyType = template.find((a) => a.type === CKA_KEY_TYPE)?.value;
      if (!this.#emulateMlDsa || keyType !== CKK_ML_DSA) return this.#real.C_CreateObject(session, template);
      const attrs = new Map(template.map((a) => [a.type, encode(a.value)]));
      const name = PARAMETER_NAMES[ulong(attrs.get(CKA_PARAMETER_SET)) ?? 0];
      if (!name) throw ckError('CKR_TEMPLATE_INCOMPLETE');
      const cls = ulong(attrs.get(CKA_CLASS));
      if (cls === CKO_PRIVATE_KEY) {
        const seed = attrs.get(CKA_SEED);
        if (!seed) throw ckError('CKR_TEMPLATE_INCOMPLETE');
        const pair = importSigningKey(suiteByName(name), seed);
        // Like a real token: the expanded key given must be the one the seed expands to.
        const der = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
        if (!attrs.get(CKA_VALUE) || !der.includes(attrs.get(CKA_VALUE)!)) throw ckError('CKR_ATTRIBUTE_VALUE_INVALID');
        for (const t of [CKA_LOCAL, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE]) attrs.set(t, encode(false));
        return this.#newHandle({ attrs, key: pair.privateKey });
      }
      if (cls === CKO_PUBLIC_KEY) {
        const value = attrs.get(CKA_VALUE);
        if (!value || value.length !== suiteByName(name).publicKeyBytes) throw ckError('CKR_ATTRIBUTE_VALUE_INVALID');
        return this.#newHandle({ attrs });
      }
      throw ckError('CKR_TEMPLATE_INCONSISTENT');
    });
  }

  C_DestroyObject(session: Handle, object: Handle): void {
    if (this.#objects.delete(object.toString('hex'))) return this.#save();
    this.#real.C_DestroyObject(session, object);
  }

  C_FindObjectsInit(session: Handle, template: Attribute[]): void {
    this.calls.push({ fn: 'C_FindObjectsInit', templates: [copyTemplate(template)] });
    this.#real.C_FindObjectsInit(session, template);
    const wanted = template.map((a) => [a.type, encode(a.value)] as const);
    const emulated = [...this.#objects.entries()].filter(([, o]) => wanted.every(([t, v]) => o.attrs.get(t)?.equals(v))).map(([hex]) => Buffer.from(hex, 'hex'));
    this.#searches.set(session.toString('hex'), { template, realDone: false, emulated });
  }

  C_FindObjects(session: Handle, maxObjectCount: number): Handle[] {
    const search = this.#searches.get(session.toString('hex'));
    if (search && !search.realDone) {
      const real = this.#real.C_FindObjects(session, maxObjectCount);
      if (real.length > 0) return real;
      search.realDone = true;
    }
    return search ? search.emulated.splice(0, maxObjectCount) : this.#real.C_FindObjects(session, maxObjectCount);
  }

  C_FindObjectsFinal(session: Handle): void {
    this.#searches.delete(session.toString('hex'));
    this.#real.C_FindObjectsFinal(session);
  }

  C_GetAttributeValue(session: Handle, object: Handle, template: Attribute[]): AttributeResult[] {
    const obj = this.#objects.get(object.toString('hex'));
    if (!obj) return this.#real.C_GetAttributeValue(session, object, template);
    const sensitive = obj.attrs.get(CKA_SENSITIVE)?.[0] === 1;
    return template.map((a) => {
      if (sensitive && (a.type === CKA_VALUE || a.type === CKA_SEED) && ulong(obj.attrs.get(CKA_CLASS)) === CKO_PRIVATE_KEY) throw ckError('CKR_ATTRIBUTE_SENSITIVE');
      const v = obj.attrs.get(a.type);
      if (!v) throw ckError('CKR_ATTRIBUTE_TYPE_INVALID');
      return { type: a.type, value: Buffer.from(v) };
    });
  }

  C_SignInit(session: Handle, mechanism: Mechanism, key: Handle): void {
    this.#record({ fn: 'C_SignInit', mechanism: mechanism.mechanism, parameter: mechanism.parameter }, () => {
      const obj = this.#objects.get(key.toString('hex'));
      if (!obj) return this.#real.C_SignInit(session, mechanism, key);
      if (mechanism.mechanism !== CKM_ML_DSA || mechanism.parameter !== undefined) throw ckError('CKR_MECHANISM_INVALID');
      if (!obj.key) throw ckError('CKR_KEY_TYPE_INCONSISTENT');
      this.#signOps.set(session.toString('hex'), { key: obj });
    });
  }

  #emulatedSign(session: Handle, data: Buffer, out: Buffer): Buffer | null {
    const op = this.#signOps.get(session.toString('hex'));
    if (!op) return null;
    this.#signOps.delete(session.toString('hex'));
    const sig = nodeSign(null, data, op.key.key!);
    if (out.length < sig.length) throw ckError('CKR_BUFFER_TOO_SMALL');
    sig.copy(out);
    return out.subarray(0, sig.length);
  }

  C_Sign(session: Handle, data: Buffer, out: Buffer): Buffer {
    return this.#record({ fn: 'C_Sign', data: Buffer.from(data) }, () => this.#emulatedSign(session, data, out) ?? this.#real.C_Sign(session, data, out));
  }

  async C_SignAsync(session: Handle, data: Buffer, out: Buffer): Promise<Buffer> {
    const call: RecordedCall = { fn: 'C_SignAsync', data: Buffer.from(data) };
    this.calls.push(call);
    try {
      const r = this.#emulatedSign(session, data, out) ?? (await this.#real.C_SignAsync(session, data, out));
      call.result = 'ok';
      return r;
    } catch (err) {
      call.result = (err as Error).message;
      throw err;
    }
  }
}
