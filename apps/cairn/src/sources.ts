/**
 * Where the daemon's settings come from: command-line flags (Cairn's and etcd's), CAIRN_* and
 * ETCD_* variables, and a YAML file in Cairn's or etcd's shape (TLS blocks included). Each
 * reader gives text values keyed by setting; config.ts checks them.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './errors.js';
import { ETCD_BOOL_FLAGS, ETCD_ONLY, nearest, TLS_BLOCK_ONLY, tlsBlockKey } from './etcdKeys.js';

/** Cairn's settings by key (config.ts's table). */
export type Known = ReadonlyMap<string, { readonly kind: string }>;

type Env = Readonly<Record<string, string | undefined>>;

/** Where each setting came from, to name it in an error the way the operator wrote it. */
export interface Origins {
  /** Prefix of every message, e.g. `config file x.yml: `. */
  readonly prefix: string;
  /** key -> how the operator spelled it: `--name`, `ETCD_NAME`, `key 'name'`. */
  readonly names: Map<string, string>;
}

export const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

/** The CAIRN_* and ETCD_* variables set for settings (ignored beside a config file). */
export function settingVariables(env: Env, known: Known): string[] {
  const out: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (nonEmpty(env[name]) === undefined || name === 'CAIRN_CONFIG_FILE' || name === 'ETCD_CONFIG_FILE') continue;
    const m = /^(CAIRN|ETCD)_(.+)$/.exec(name);
    if (m === null) continue;
    const key = m[2]!.toLowerCase().replace(/_/g, '-');
    if (known.has(key) || (m[1] === 'ETCD' && ETCD_ONLY.has(key))) out.push(name);
  }
  return out;
}

/** Refuses the etcd-only settings that cannot be ignored safely; returns the ignored ones. */
export function checkEtcdOnly(etcdOnly: Map<string, string>, raw: Map<string, string>, origins: Origins): string[] {
  const named = settingNamer(origins);
  const tlsInUse = raw.has('cert-file') || raw.has('peer-cert-file');
  const ignored: string[] = [];
  for (const [key, value] of etcdOnly) {
    const refusal = (ETCD_ONLY.get(key) ?? TLS_BLOCK_ONLY.get(key))?.(value, tlsInUse);
    if (refusal !== undefined) throw new ConfigError(`${named(key)}: ${refusal}`);
    const name = origins.names.get(key) ?? key;
    ignored.push(name.startsWith("key '") ? name.slice(5, -1) : name);
  }
  return ignored;
}

/**
 * How errors name a setting: as the operator wrote it (the flag, the environment variable or
 * the YAML key); a setting they did not write as a flag, or as a key when a file is in use.
 */
export function settingNamer(origins: Origins): (key: string) => string {
  return (key) => origins.names.get(key) ?? (origins.prefix !== '' ? `key '${key}'` : `--${key}`);
}

export interface Flags {
  /** Cairn's settings, plus help/version/config-file. */
  readonly cairn: Map<string, string>;
  /** etcd's flags Cairn does not implement. */
  readonly etcdOnly: Map<string, string>;
}

export function parseFlags(argv: readonly string[], known: Known): Flags {
  const out = new Map<string, string>();
  const etcdOnly = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      out.set('help', 'true');
      continue;
    }
    if (!arg.startsWith('-')) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)} (flags look like --name=value)`);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const key = eq >= 0 ? body.slice(0, eq) : body;
    if (key === 'version') {
      out.set('version', 'true');
      continue;
    }
    const etcd = !known.has(key) && ETCD_ONLY.has(key);
    if (key !== 'config-file' && !known.has(key) && !etcd) {
      const near = nearest(key, [...known.keys(), ...ETCD_ONLY.keys(), 'config-file']);
      throw new ConfigError(`unknown flag --${key}${near !== undefined ? ` (did you mean --${near}?)` : ''} (see cairn --help)`);
    }
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (known.get(key)?.kind === 'bool' || (etcd && ETCD_BOOL_FLAGS.has(key))) value = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new ConfigError(`flag --${key} needs a value`);
      value = next;
      i++;
    }
    (etcd ? etcdOnly : out).set(key, value);
  }
  return { cairn: out, etcdOnly };
}

/** A YAML value as the text a flag would carry: lists comma-joined, as etcd reads them. */
function plain(path: string, key: string, v: unknown): string {
  if (Array.isArray(v)) return v.map((x) => plain(path, key, x)).join(',');
  if (typeof v === 'object' && v !== null) throw new ConfigError(`config file ${path}: key '${key}' must be a plain value, got a map`);
  return String(v);
}

export interface FileSettings {
  readonly raw: Map<string, string>;
  readonly etcdOnly: Map<string, string>;
  /** setting -> the YAML key that set it (`client-transport-security.cert-file` for cert-file). */
  readonly shown: Map<string, string>;
}

export function readConfigFile(path: string, known: Known): FileSettings {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
  const raw = new Map<string, string>();
  const etcdOnly = new Map<string, string>();
  const shown = new Map<string, string>();
  if (doc === null || doc === undefined) return { raw, etcdOnly, shown };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${path} must be a map of settings`);
  const put = (key: string, name: string, v: unknown): void => {
    if (v === null || v === undefined) return;
    const before = shown.get(key);
    if (before !== undefined && before !== name) throw new ConfigError(`config file ${path}: keys '${before}' and '${name}' both set ${key}; keep one`);
    shown.set(key, name);
    if (known.has(key)) {
      raw.set(key, plain(path, name, v));
    } else if (ETCD_ONLY.has(key) || TLS_BLOCK_ONLY.has(key)) {
      // Ignored (or refused) as a whole: its shape is etcd's business.
      etcdOnly.set(key, typeof v === 'object' && !Array.isArray(v) ? JSON.stringify(v) : plain(path, name, v));
    } else {
      const near = nearest(key, [...known.keys(), ...ETCD_ONLY.keys(), 'client-transport-security', 'peer-transport-security']);
      throw new ConfigError(`config file ${path}: unknown key ${JSON.stringify(name)}${near !== undefined ? ` (did you mean "${near}"?)` : ''}`);
    }
  };
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (k === 'client-transport-security' || k === 'peer-transport-security') {
      if (v === null || v === undefined) continue;
      if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`config file ${path}: key '${k}' must be a map (cert-file, key-file, trusted-ca-file, client-cert-auth ...)`);
      const block = k === 'client-transport-security' ? 'client' : 'peer';
      for (const [bk, bv] of Object.entries(v as Record<string, unknown>)) {
        const key = tlsBlockKey(block, bk);
        if (key === undefined) throw new ConfigError(`config file ${path}: unknown key "${k}.${bk}" (etcd's TLS blocks take cert-file, key-file, trusted-ca-file, client-cert-auth, auto-tls, allowed-cn, allowed-hostname)`);
        put(key, `${k}.${bk}`, bv);
      }
      continue;
    }
    put(k, k, v);
  }
  return { raw, etcdOnly, shown };
}

