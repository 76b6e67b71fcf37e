// Text and JSON renderings of qbind-keygen results (generate, verify,
// inspect). Validator ids are decimal strings in JSON (they are u64). Nothing
// here ever sees a passphrase or private key bytes.

import { basename } from 'node:path';
import { publicKeyFingerprint as publicFingerprint } from '../crypto/index.ts';
import type { QbindError } from '../errors.ts';
import type { GeneratedKeystore } from './generate.ts';
import { octal } from './permissions.ts';
import { suiteOfRole } from './roles.ts';
import type { KeystoreScan } from './scan.ts';
import type { UnlockedKeystore } from './unlocked-keystore.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

function protectionText(iterations: number): string {
  return iterations > 0 ? `PBKDF2-HMAC-SHA-256 (${iterations} iterations, 32-byte salt) + ChaCha20-Poly1305` : 'NONE (plaintext, devnet only)';
}

export function generatedText(g: GeneratedKeystore, profile: string): string {
  const lines = [`generated keystore ${g.dir} for validator ${g.validatorId} (profile ${profile})`];
  lines.push(`  protection: ${protectionText(g.keys[0]?.iterations ?? 0)}`);
  for (const k of g.keys) {
    if (k.role !== k.storedAs) {
      lines.push(`  ${k.role.padEnd(14)} uses the consensus key (design doc §2.4): fingerprint ${k.fingerprint}, no separate file`);
    } else {
      lines.push(`  ${k.role.padEnd(14)} ${`${k.suiteName} (suite ${k.suiteId})`.padEnd(23)} fingerprint ${k.fingerprint}  ${basename(k.keyFile)}, ${basename(k.publicKeyFile)}`);
    }
  }
  return lines.join('\n') + '\n';
}

export function unlockedJson(k: UnlockedKeystore): JsonValue {
  return {
    dir: k.dir,
    ok: true,
    validatorId: k.validatorId.toString(),
    keys: k.keys().map((i) => ({
      role: i.role,
      serves: i.serves,
      suiteId: i.suiteId,
      suite: i.suiteName,
      fingerprint: i.fingerprint,
      file: i.file,
      encrypted: i.encrypted,
      iterations: i.iterations,
    })),
    warnings: [...k.warnings],
  };
}

export function unlockedText(k: UnlockedKeystore): string {
  const keys = k.keys().map((i) => `${i.serves.join('+')} ${i.suiteName} ${i.fingerprint}`).join(', ');
  return `OK   ${k.dir}: validator ${k.validatorId}; ${keys}\n`;
}

export function errorJson(dir: string, err: QbindError): JsonValue {
  return { dir, ok: false, error: { code: err.code, message: err.message } };
}

export function scanJson(s: KeystoreScan): JsonValue {
  return {
    dir: s.dir,
    ok: !s.problems.some((p) => p.severity === 'error'),
    dirMode: octal(s.dirMode),
    validatorId: s.validatorId === null ? null : s.validatorId.toString(),
    keyFiles: s.keys.map((k) => ({
      file: k.name,
      role: k.role,
      mode: k.mode === null ? null : octal(k.mode),
      ...(k.parsed
        ? {
            headerRole: k.parsed.role,
            formatVersion: k.parsed.version,
            suiteId: k.parsed.suiteId,
            validatorId: k.parsed.validatorId.toString(),
            fingerprint: publicFingerprint(k.parsed.publicKey),
            encrypted: k.parsed.protection !== 'plaintext',
            kdf: k.parsed.protection === 'plaintext' ? null : { algorithm: 'pbkdf2-hmac-sha256', iterations: k.parsed.iterations, saltBytes: k.parsed.salt.length },
            cipher: k.parsed.protection === 'plaintext' ? null : 'chacha20-poly1305',
          }
        : {}),
    })),
    publicKeyFiles: s.publics.map((p) => ({
      file: p.name,
      role: p.role,
      ...(p.info ? { suiteId: p.info.suite.id, suite: p.info.suite.name, validatorId: p.info.validatorId.toString(), fingerprint: p.info.fingerprint } : {}),
    })),
    unknownKeyFiles: s.unknownKeyFiles,
    problems: s.problems.map((p) => ({ severity: p.severity, code: p.code, file: p.file, message: p.message })),
  };
}

export function scanText(s: KeystoreScan): string {
  const lines = [`keystore ${s.dir} (folder mode ${octal(s.dirMode)})${s.validatorId !== null ? `: validator ${s.validatorId}` : ''}`];
  for (const k of s.keys) {
    if (!k.parsed) {
      lines.push(`  ${k.name.padEnd(18)} unreadable (see problems)`);
      continue;
    }
    const p = k.parsed;
    const suite = suiteOfRole(p.role).suite;
    const prot = p.protection === 'plaintext' ? 'PLAINTEXT' : `pbkdf2-hmac-sha256 ${p.iterations} iterations, ${p.salt.length}-byte salt, chacha20-poly1305`;
    lines.push(`  ${k.name.padEnd(18)} ${p.role} ${suite.name} (suite ${p.suiteId}), validator ${p.validatorId}, fingerprint ${publicFingerprint(p.publicKey)}, ${prot}, mode ${k.mode === null ? '?' : octal(k.mode)}`);
  }
  for (const pub of s.publics) {
    lines.push(pub.info ? `  ${pub.name.padEnd(18)} ${pub.info.role} ${pub.info.suite.name} (suite ${pub.info.suite.id}), validator ${pub.info.validatorId}, fingerprint ${pub.info.fingerprint}` : `  ${pub.name.padEnd(18)} unreadable (see problems)`);
  }
  for (const u of s.unknownKeyFiles) lines.push(`  ${u.padEnd(18)} not a role's file; ignored`);
  if (s.problems.length === 0) lines.push('  no problems found');
  for (const p of s.problems) lines.push(`  ${p.severity === 'error' ? 'ERROR  ' : 'warning'} [${p.code}] ${p.message}`);
  return lines.join('\n') + '\n';
}
