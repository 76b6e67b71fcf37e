// hsm.toml in both forms (design doc §3.5 flat, §4.5 sectioned): what loads,
// what is refused and how, and that a PIN written into the file is refused
// without being echoed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHsmConfig, parseMechanism, readPin, renderFlatConfig, signingKeyOf } from '../../src/hsm/config.ts';
import { HsmError } from '../../src/hsm/hsm-error.ts';
import { CKM_ECDSA, CKM_EDDSA, CKM_ML_DSA } from '../../src/hsm/pkcs11-constants.ts';

const FLAT = `# PKCS#11 HSM configuration for QBIND validator
library_path = "/usr/lib/softhsm/libsofthsm2.so"
token_label  = "qbind-validator"
key_label    = "qbind-consensus-42"
pin_env_var  = "QBIND_HSM_PIN"
# Optional: override the signing mechanism (default suitable for ML-DSA-44)
# mechanism = "vendor-ml-dsa-44"
`;

const SECTIONS = `# /etc/qbind/hsm.toml
[hsm]
library = "/usr/lib/softhsm/libsofthsm2.so"  # PKCS#11 library path
slot_id = 0
pin = "env:HSM_PIN"  # PIN from environment variable

[keys.consensus]
label = "qbind-validator-42-consensus"
key_type = "ML-DSA-44"

[keys.p2p_identity]
label = "qbind-validator-42-p2p"
key_type = "ML-KEM-768"
`;

function fails(text: string, re: RegExp, code = 'HSM_CONFIG_INVALID'): HsmError {
  let caught: unknown;
  assert.throws(() => parseHsmConfig(text, '/etc/qbind/hsm.toml'), (err: unknown) => {
    caught = err;
    return err instanceof HsmError && err.code === code && re.test(err.message);
  });
  return caught as HsmError;
}

test('the design doc §3.5 example loads as written', () => {
  const c = parseHsmConfig(FLAT, '/etc/qbind/hsm.toml');
  assert.equal(c.form, 'flat');
  assert.equal(c.libraryPath, '/usr/lib/softhsm/libsofthsm2.so');
  assert.equal(c.tokenLabel, 'qbind-validator');
  assert.equal(c.pinEnvVar, 'QBIND_HSM_PIN');
  assert.deepEqual(signingKeyOf(c), { name: 'consensus', label: 'qbind-consensus-42', keyType: undefined, mechanism: undefined });
});

test('the design doc §4.5 example loads as written; the consensus key is chosen, the KEM key cannot sign', () => {
  const c = parseHsmConfig(SECTIONS, '/etc/qbind/hsm.toml');
  assert.equal(c.form, 'sections');
  assert.equal(c.slotId, 0);
  assert.equal(c.tokenLabel, undefined);
  assert.equal(c.pinEnvVar, 'HSM_PIN');
  assert.equal(c.keys.length, 2);
  const key = signingKeyOf(c);
  assert.equal(key.label, 'qbind-validator-42-consensus');
  assert.equal(key.keyType, 'ml-dsa-44');
  assert.throws(() => signingKeyOf(c, 'qbind-validator-42-p2p'), (e: unknown) => e instanceof HsmError && e.code === 'HSM_KEY_UNSUPPORTED' && /ML-KEM-768 key, which cannot sign/.test(e.message));
  assert.equal(signingKeyOf(c, 'some-other-label').label, 'some-other-label');
});

test('a PIN in the file is refused and never echoed', () => {
  const pin = '73194628';
  const e1 = fails(SECTIONS.replace('"env:HSM_PIN"', `"${pin}"`), /hsm\.pin must be "env:VARIABLE"/);
  assert.ok(!e1.message.includes(pin));
  const e2 = fails(FLAT + `pin = "${pin}"\n`, /pin is not allowed here: a PIN is never stored in hsm.toml/);
  assert.ok(!e2.message.includes(pin));
  const e3 = fails(SECTIONS.replace('"env:HSM_PIN"', `"env:${pin}x y"`), /hsm\.pin must be/);
  assert.ok(!e3.message.includes(pin));
});

test('missing, unknown and malformed fields are named precisely', () => {
  fails(FLAT.replace(/key_label.*\n/, ''), /missing required field key_label/);
  fails(FLAT.replace(/library_path.*\n/, ''), /missing required field library_path/);
  fails(FLAT + 'libary = "x"\n', /unknown field libary \(allowed: library_path/);
  fails(FLAT.replace('"QBIND_HSM_PIN"', '"QBIND-HSM-PIN"'), /pin_env_var must NAME an environment variable/);
  // A PIN typed where the variable name belongs is never repeated.
  assert.throws(() => parseHsmConfig(FLAT.replace('"QBIND_HSM_PIN"', '"13572468 x"')), (e: unknown) => e instanceof Error && !e.message.includes('13572468'));
  fails(FLAT + 'sessions = 0\n', /sessions must be an integer in 1\.\.64/);
  fails(FLAT + 'sign_timeout_ms = -5\n', /sign_timeout_ms must be an integer in 0\.\.600000/);
  assert.equal(parseHsmConfig(FLAT + 'sign_timeout_ms = 2500\n').signTimeoutMs, 2500);
  assert.equal(parseHsmConfig(SECTIONS.replace('slot_id = 0', 'slot_id = 0\nsign_timeout_ms = 0')).signTimeoutMs, 0);
  fails(FLAT + 'key_type = "rsa-2048"\n', /key_type: unknown key type 'rsa-2048'/);
  fails(SECTIONS.replace('slot_id = 0\n', ''), /set hsm.slot_id or hsm.token_label/);
  fails(SECTIONS.replace(/\[keys\.consensus\][\s\S]*/, ''), /no \[keys\.NAME\] tables/);
  fails(SECTIONS.replace('label = "qbind-validator-42-p2p"', 'lable = "x"'), /unknown field keys\.p2p_identity\.lable/);
  fails(SECTIONS + 'key_label = "x"\n', /unknown field keys\.p2p_identity\.key_label|mixes the \[hsm\] form/);
  fails('token_label = "x"\n[hsm]\nlibrary = "y"\n', /mixes the \[hsm\] form with top-level fields \(token_label\)/);
  fails('library_path = "unterminated\n', /not valid TOML/);
});

test('mechanism override: standard names and vendor numbers; the seed comment is explained', () => {
  assert.equal(parseMechanism('ml-dsa'), CKM_ML_DSA);
  assert.equal(parseMechanism('CKM_EDDSA'), CKM_EDDSA);
  assert.equal(parseMechanism('ecdsa'), CKM_ECDSA);
  assert.equal(parseMechanism('0x80000004'), 0x80000004);
  assert.equal(parseMechanism(0x8000001d), 0x8000001d);
  const c = parseHsmConfig(FLAT + 'mechanism = "0x80000123"\nkey_type = "ml-dsa-44"\n');
  assert.equal(signingKeyOf(c).mechanism, 0x80000123);
  assert.equal(signingKeyOf(c).keyType, 'ml-dsa-44');
  fails(FLAT.replace('# mechanism = "vendor-ml-dsa-44"', 'mechanism = "vendor-ml-dsa-44"'), /"vendor-ml-dsa-44" is not a mechanism: use ml-dsa, eddsa, ecdsa or ecdsa-sha256, or the vendor's numeric CKM value/);
});

test('the PIN comes from the named environment variable only', () => {
  const c = parseHsmConfig(FLAT, '/etc/qbind/hsm.toml');
  assert.equal(readPin(c, { QBIND_HSM_PIN: '4321' }), '4321');
  assert.throws(() => readPin(c, {}), (e: unknown) => e instanceof HsmError && e.code === 'HSM_PIN_MISSING' && /QBIND_HSM_PIN \(named in \/etc\/qbind\/hsm.toml\) is not set/.test(e.message));
  assert.throws(() => readPin(c, { QBIND_HSM_PIN: '' }), (e: unknown) => e instanceof HsmError && e.code === 'HSM_PIN_MISSING');
});

test('renderFlatConfig writes what parseHsmConfig reads back', () => {
  const text = renderFlatConfig({ libraryPath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'tok "quoted"', keyLabel: 'qbind-consensus-42', pinEnvVar: 'QBIND_HSM_PIN', keyType: 'ml-dsa-44', mechanism: CKM_ML_DSA });
  const c = parseHsmConfig(text);
  assert.equal(c.tokenLabel, 'tok "quoted"');
  assert.deepEqual(signingKeyOf(c), { name: 'consensus', label: 'qbind-consensus-42', keyType: 'ml-dsa-44', mechanism: CKM_ML_DSA });
  assert.match(text, /# CKM_ML_DSA\nmechanism    = "0x1d"/);
});
