import { CairnError, ErrorCode } from '@cairn/protocol';
import { endpointToUrl } from './endpoints.js';

/*
 * Discovery tokens: how members that do not know each other's addresses find each other
 * through an existing Cairn cluster. A convention over the KV API, written by
 * `cairnctl discovery new` and read by `cairn --discovery`; both take the layout from here.
 *
 *   /_cairn/discovery/<token>/_config/size     "3"                      (created once, never overwritten)
 *   /_cairn/discovery/<token>/members/<name>   "http://10.0.0.1:2380"   (each member's peer URLs, comma-separated)
 *
 * The token is 16 lowercase hex digits (64 random bits). The first `size` member keys by
 * create_revision make the initial cluster; later ones are refused.
 */

export const DISCOVERY_PREFIX = '/_cairn/discovery/';

/** The keys of one discovery token. */
export interface DiscoveryKeys {
  /** Holds the cluster size in decimal. */
  readonly size: string;
  /** The prefix under which each member registers by name. */
  readonly members: string;
  /** The key of the member called `name`. */
  member(name: string): string;
}

export function discoveryKeys(token: string): DiscoveryKeys {
  const base = `${DISCOVERY_PREFIX}${token}/`;
  const members = `${base}members/`;
  return { size: `${base}_config/size`, members, member: (name) => `${members}${name}` };
}

const TOKEN = /^[0-9a-f]{16}$/;

export function isDiscoveryToken(token: string): boolean {
  return TOKEN.test(token);
}

/** A parsed `cairn://HOST:PORT[,HOST:PORT...]/discovery/TOKEN`. */
export interface DiscoveryUrl {
  /** The discovery cluster's client endpoints, `host:port`. */
  readonly endpoints: string[];
  readonly token: string;
}

/** Parses a discovery URL; a malformed one is a CairnError `invalid_argument` saying why. */
export function parseDiscoveryUrl(url: string): DiscoveryUrl {
  const bad = (why: string): CairnError =>
    new CairnError(ErrorCode.InvalidArgument, `invalid discovery URL ${JSON.stringify(url)}: ${why} (expected cairn://HOST:PORT/discovery/TOKEN)`);
  const m = /^cairn:\/\/([^/]+)\/discovery\/([^/]*)\/?$/.exec(url.trim());
  if (m === null) throw bad('not of the form');
  const token = m[2]!.toLowerCase();
  if (!isDiscoveryToken(token)) throw bad('the token must be 16 hex digits');
  const endpoints = m[1]!.split(',').map((e) => e.trim());
  for (const e of endpoints) {
    if (!/:\d+$/.test(e)) throw bad(`${JSON.stringify(e)} has no port`);
    try {
      endpointToUrl(e);
    } catch {
      throw bad(`${JSON.stringify(e)} is not host:port`);
    }
  }
  return { endpoints, token };
}

/** The URL of `token` on the cluster at `endpoint` (`host:port` or `http://host:port`). */
export function formatDiscoveryUrl(endpoint: string, token: string): string {
  const url = new URL(endpointToUrl(endpoint));
  // URL drops a scheme's default port; the discovery URL always names one.
  const port = url.port !== '' ? url.port : url.protocol === 'wss:' ? '443' : '80';
  return `cairn://${url.hostname}:${port}/discovery/${token}`;
}
