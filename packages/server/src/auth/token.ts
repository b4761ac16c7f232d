import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Auth tokens: `<payload base64url>.<HMAC-SHA256 base64url>`, the payload being JSON
 * {"u": user, "r": auth revision at issue, "e": expiry in ms since the epoch}. The key is the
 * secret replicated with `auth enable`, so every member of the cluster accepts a token any
 * member issued. The token says who the caller is, never what they may do: permissions are
 * looked up in the current auth store on every request.
 */
export interface TokenClaims {
  readonly user: string;
  readonly authRevision: bigint;
  readonly expiresAtMs: number;
}

const sign = (secret: Uint8Array, payload: string): Buffer => createHmac('sha256', secret).update(payload).digest();

export function issueToken(secret: Uint8Array, claims: TokenClaims): string {
  const payload = Buffer.from(
    JSON.stringify({ u: claims.user, r: claims.authRevision.toString(), e: claims.expiresAtMs }),
  ).toString('base64url');
  return `${payload}.${sign(secret, payload).toString('base64url')}`;
}

/** The claims of a well-signed token, or undefined (bad shape, bad signature). Expiry is the caller's. */
export function readToken(secret: Uint8Array, token: string): TokenClaims | undefined {
  if (token.length > 4096) return undefined;
  const dot = token.indexOf('.');
  if (dot <= 0) return undefined;
  const payload = token.slice(0, dot);
  const mac = Buffer.from(token.slice(dot + 1), 'base64url');
  const want = sign(secret, payload);
  if (mac.length !== want.length || !timingSafeEqual(mac, want)) return undefined;
  try {
    const v = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { u?: unknown; r?: unknown; e?: unknown };
    if (typeof v.u !== 'string' || typeof v.r !== 'string' || !/^\d+$/.test(v.r) || typeof v.e !== 'number') return undefined;
    return { user: v.u, authRevision: BigInt(v.r), expiresAtMs: v.e };
  } catch {
    return undefined;
  }
}
