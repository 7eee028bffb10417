// RFC 4226 HOTP / RFC 6238 TOTP (HMAC-SHA1) and RFC 4648 base32, written for the browser
// tests so the codes they type do not come from the server's own OTP library.

import { createHmac } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 to bytes; case, spaces and '=' padding are ignored. */
export function base32Decode(text) {
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of clean) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${JSON.stringify(ch)} in ${JSON.stringify(text)}`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(out);
}

/** RFC 4226 HOTP with HMAC-SHA1: the counter as 8 big-endian bytes, dynamic truncation. */
export function hotp(key, counter, digits = 6) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(msg).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** RFC 6238 TOTP: T0 = 0, 30-second steps; `unixSeconds` defaults to now. */
export function totp(key, unixSeconds = Date.now() / 1000, digits = 6) {
  return hotp(key, Math.floor(unixSeconds / 30), digits);
}

/** The RFC 6238 appendix B SHA1 vectors (8 digits) and their last six digits. */
export function selfTest() {
  const key = Buffer.from('12345678901234567890', 'ascii');
  const vectors = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
  ];
  const wrong = [];
  for (const [t, want] of vectors) {
    const got8 = totp(key, t, 8);
    const got6 = totp(key, t, 6);
    if (got8 !== want) wrong.push(`T=${t}: ${got8}, want ${want}`);
    if (got6 !== want.slice(2)) wrong.push(`T=${t} (6 digits): ${got6}, want ${want.slice(2)}`);
  }
  // base32 of the same key (RFC 4648 alphabet), with and without padding.
  const b32 = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
  if (!base32Decode(b32).equals(key)) wrong.push(`base32Decode(${b32}) is not the RFC key`);
  if (base32Decode('MZXW6YQ=').toString() !== 'foob') wrong.push('base32Decode("MZXW6YQ=") is not "foob"');
  if (base32Decode('mzxw6ytboi').toString() !== 'foobar') wrong.push('base32Decode("mzxw6ytboi") is not "foobar"');
  return wrong;
}
