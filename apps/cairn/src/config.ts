/**
 * The daemon's settings, with etcd's names, from three sources (read in sources.ts): command-line
 * flags (`--initial-cluster=...`), environment variables (`CAIRN_INITIAL_CLUSTER=...`, or etcd's
 * `ETCD_INITIAL_CLUSTER=...`) and a YAML file (`--config-file`, Cairn's keys or etcd's file as it
 * is). Like etcd, a config file replaces flags and environment entirely (a warning names what was
 * ignored); otherwise a flag beats its CAIRN_ variable, which beats its ETCD_ one, which beats the
 * default. etcd settings Cairn does not implement are ignored with one warning, or refused where
 * ignoring them is unsafe (etcdKeys.ts).
 */
import { ConfigError } from './errors.js';
import { ETCD_ONLY } from './etcdKeys.js';
import { checkEtcdOnly, nonEmpty, type Origins, parseFlags, readConfigFile, settingNamer, settingVariables } from './sources.js';
import { byKey, envName, etcdEnvName, SETTINGS, type DaemonConfig } from './settings.js';
import { resolve } from './checks.js';

export { ConfigError };
export { helpText, SETTINGS, envName, etcdEnvName, type DaemonConfig, type TlsSettings } from './settings.js';
export { parseDurationMs, parseInitialCluster } from './checks.js';

export type Parsed =
  | { kind: 'help' }
  | { kind: 'version' }
  | {
      kind: 'run';
      config: DaemonConfig;
      source: string;
      /** Lines to log as warnings at start: what was ignored, and why. */
      warnings: string[];
    };

type Env = Readonly<Record<string, string | undefined>>;

/** Reads argv (without node and script) and env into a validated config. Throws ConfigError. */
export function loadConfig(argv: readonly string[], env: Env): Parsed {
  const flags = parseFlags(argv, byKey);
  if (flags.cairn.has('help')) return { kind: 'help' };
  if (flags.cairn.has('version')) return { kind: 'version' };
  const configFile = flags.cairn.get('config-file') ?? nonEmpty(env['CAIRN_CONFIG_FILE']) ?? nonEmpty(env['ETCD_CONFIG_FILE']);
  const warnings: string[] = [];
  let raw: Map<string, string>;
  let etcdOnly: Map<string, string>;
  let source: string;
  let origins: Origins;
  if (configFile !== undefined) {
    let shown: Map<string, string>;
    ({ raw, etcdOnly, shown } = readConfigFile(configFile, byKey));
    source = `config file ${configFile}`;
    origins = { prefix: `config file ${configFile}: `, names: new Map([...shown].map(([k, n]) => [k, `key '${n}'`])) };
    const ignored = [
      ...[...flags.cairn.keys()].filter((k) => k !== 'config-file').map((k) => `--${k}`),
      ...[...flags.etcdOnly.keys()].map((k) => `--${k}`),
      ...settingVariables(env, byKey),
    ];
    if (ignored.length > 0) warnings.push(`config file ${configFile} is given, so these flags and environment variables are ignored (as etcd does): ${ignored.join(', ')}`);
  } else {
    raw = new Map();
    etcdOnly = new Map();
    origins = { prefix: '', names: new Map() };
    for (const s of SETTINGS) {
      for (const name of [envName(s.key), etcdEnvName(s.key)]) {
        const v = nonEmpty(env[name]);
        if (v === undefined) continue;
        raw.set(s.key, v);
        origins.names.set(s.key, name);
        break;
      }
    }
    const unrecognized: string[] = [];
    for (const [name, value] of Object.entries(env)) {
      if (!name.startsWith('ETCD_') || value === undefined || value === '' || name === 'ETCD_CONFIG_FILE') continue;
      const key = name.slice(5).toLowerCase().replace(/_/g, '-');
      if (byKey.has(key)) continue;
      if (ETCD_ONLY.has(key)) {
        etcdOnly.set(key, value);
        origins.names.set(key, name);
      } else unrecognized.push(name);
    }
    if (unrecognized.length > 0) warnings.push(`unrecognized environment variables, ignored: ${unrecognized.sort().join(', ')}`);
    for (const [k, v] of flags.cairn) {
      if (k === 'config-file') continue;
      raw.set(k, v);
      origins.names.set(k, `--${k}`);
    }
    for (const [k, v] of flags.etcdOnly) {
      etcdOnly.set(k, v);
      origins.names.set(k, `--${k}`);
    }
    source = 'flags and environment';
  }
  try {
    const ignored = checkEtcdOnly(etcdOnly, raw, origins);
    if (ignored.length > 0) warnings.push(`etcd settings this version of cairn does not implement, ignored: ${ignored.join(', ')}`);
    return { kind: 'run', config: resolve(raw, settingNamer(origins)), source, warnings };
  } catch (err) {
    // The file a message is about goes first (the setting names are already the operator's).
    if (err instanceof ConfigError && origins.prefix !== '') throw new ConfigError(origins.prefix + err.message);
    throw err;
  }
}

