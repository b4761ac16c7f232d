import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Proof between members that each holds the cluster's peer secret.
 *
 * Every peer socket starts with a mutual challenge-response before anything else is read:
 *
 *   dialer   -> hello     { c, from, to, v, n: dialerNonce }
 *   listener -> challenge { c, n: listenerNonce, p: proof('listener') }
 *   dialer   -> proof     { c, p: proof('dialer') }          (after checking the listener's)
 *   listener -> ok | refused
 *
 * proof(role) = HMAC-SHA256(key, role | path | cluster id | from | to | dialerNonce | listenerNonce).
 * Both nonces are fresh 32 random bytes, so a proof is good for one socket only; the role label
 * keeps a listener's proof from being played back as a dialer's (reflection), and the ids bind
 * it to the member the dialer claims to be and the one it meant to reach.
 *
 * The key is HMAC-SHA256('cairn peer key v1', secret): the secret is the contents of
 * --peer-secret-file, or else the initial-cluster token (the weak default: whoever knows the
 * token, which is often the default `cairn-cluster`, can compute it).
 */
export type PeerKey = Buffer & { readonly __peerKey: true };

/** Bytes of each side's nonce. */
export const PEER_NONCE_BYTES = 32;
/** Shortest secret accepted from --peer-secret-file, in bytes. */
export const MIN_PEER_SECRET_BYTES = 16;

export function peerKeyFromSecret(secret: string | Uint8Array): PeerKey {
  return createHmac('sha256', 'cairn peer key v1').update(secret).digest() as PeerKey;
}

/** The weak default: the key every member started with the same --initial-cluster-token derives. */
export function peerKeyFromToken(token: string): PeerKey {
  return peerKeyFromSecret(`initial-cluster-token:${token}`);
}

/** A short, stable fingerprint of a key for logs (never the key). */
export function peerKeyFingerprint(key: PeerKey): string {
  return createHash('sha256').update('fingerprint').update(key).digest('hex').slice(0, 12);
}

export const newNonce = (): Uint8Array => randomBytes(PEER_NONCE_BYTES);

export interface HandshakeClaims {
  /** '/raft' or '/snapshot': a proof for one kind of socket is not good for the other. */
  readonly path: string;
  readonly clusterId: bigint;
  readonly from: bigint;
  readonly to: bigint;
  readonly dialerNonce: Uint8Array;
  readonly listenerNonce: Uint8Array;
}

export function handshakeProof(key: PeerKey, role: 'dialer' | 'listener', c: HandshakeClaims): Uint8Array {
  const h = createHmac('sha256', key);
  // Fixed-width fields and a separator after each variable one: no two claims encode alike.
  h.update(`cairn peer handshake v1\0${role}\0${c.path}\0`);
  h.update(`${c.clusterId.toString(16).padStart(16, '0')}${c.from.toString(16).padStart(16, '0')}${c.to.toString(16).padStart(16, '0')}`);
  h.update(c.dialerNonce);
  h.update(c.listenerNonce);
  return h.digest();
}

/** Constant-time comparison of a proof received with the one expected. */
export function proofMatches(expected: Uint8Array, got: unknown): boolean {
  if (!(got instanceof Uint8Array) || got.length !== expected.length) return false;
  return timingSafeEqual(expected, got);
}

/** Headers of a signed `GET /members` (a joining member asking before it is part of the cluster). */
export const MEMBERS_NONCE_HEADER = 'x-cairn-peer-nonce';
export const MEMBERS_PROOF_HEADER = 'x-cairn-peer-proof';
/** A signed request older or newer than this is refused (and a nonce is remembered as long). */
export const MEMBERS_REQUEST_WINDOW_MS = 5 * 60_000;

/** The nonce of a `/members` request: the sender's clock in ms, then 16 random bytes, in hex. */
export function membersNonce(nowMs: number): string {
  return `${Math.floor(nowMs).toString(16)}.${randomBytes(16).toString('hex')}`;
}

export function membersRequestProof(key: PeerKey, nonce: string): string {
  return createHmac('sha256', key).update(`cairn members request v1\0${nonce}`).digest('hex');
}

/** The answer is signed too: a joining member believes only a member of the cluster. */
export function membersResponseProof(key: PeerKey, nonce: string, body: string): string {
  return createHmac('sha256', key).update(`cairn members response v1\0${nonce}\0`).update(body).digest('hex');
}

export function hexProofMatches(expected: string, got: string | undefined): boolean {
  if (got === undefined || got.length !== expected.length || !/^[0-9a-f]+$/.test(got)) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(got, 'hex'));
}

/** The sender's time in a `/members` nonce, or undefined if it is not one. */
export function membersNonceTime(nonce: string): number | undefined {
  const m = /^([0-9a-f]{1,13})\.[0-9a-f]{32}$/.exec(nonce);
  return m === null ? undefined : parseInt(m[1]!, 16);
}

/**
 * The dialer's answer to a challenge: its proof, or undefined when the listener's own proof
 * is wrong (it does not hold the key: talk no further).
 */
export function dialerProof(
  key: PeerKey,
  path: string,
  c: Omit<HandshakeClaims, 'path' | 'listenerNonce'>,
  challenge: { readonly n: Uint8Array; readonly p: Uint8Array },
): Uint8Array | undefined {
  const claims = { ...c, path, listenerNonce: challenge.n };
  if (!proofMatches(handshakeProof(key, 'listener', claims), challenge.p)) return undefined;
  return handshakeProof(key, 'dialer', claims);
}
