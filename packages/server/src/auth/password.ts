import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Password hashing with scrypt (node:crypto) and a random 16-byte salt, done by the API layer
 * before a proposal: the log and the auth records only ever hold
 * `scrypt$N$r$p$<salt base64>$<hash base64>`, never the password.
 */
const N = 16384;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** scrypt's memory use is 128 * N * r bytes; allow a little more than that. */
const MAX_MEM = 256 * N * R;

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_BYTES, { N: n, r, p, maxmem: MAX_MEM }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** A hash to compare against when the user does not exist, so timing does not tell. */
let dummyHash: Promise<string> | undefined;

/** Whether `password` matches `hash`; false for a malformed hash or a user without one. */
export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  const h = hash ?? (await (dummyHash ??= hashPassword('cairn-no-such-user')));
  const parts = h.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [n, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (n !== N || r !== R || p !== P) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const want = Buffer.from(parts[5]!, 'base64');
  if (want.length !== KEY_BYTES) return false;
  const got = await derive(password, salt, n, r, p);
  return timingSafeEqual(got, want) && hash !== undefined;
}

/** The token-signing secret generated once by the member that proposes `auth enable`. */
export function newTokenSecret(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}
