import type { Command } from 'commander';
import { ExitCode, UsageError } from './exitCodes.js';

/**
 * The global flags that environment variables can set, as etcdctl names them: the flag in
 * upper case, `-` as `_`, after `ETCDCTL_` (`--dial-timeout` <- `ETCDCTL_DIAL_TIMEOUT`).
 * `attr` is commander's name for the option; `bool` flags take Go's strconv.ParseBool values.
 */
const envFlags: readonly { readonly flag: string; readonly attr: string; readonly bool?: true }[] = [
  { flag: 'endpoints', attr: 'endpoints' },
  { flag: 'write-out', attr: 'writeOut' },
  { flag: 'hex', attr: 'hex', bool: true },
  { flag: 'dial-timeout', attr: 'dialTimeout' },
  { flag: 'command-timeout', attr: 'commandTimeout' },
  { flag: 'keepalive-time', attr: 'keepaliveTime' },
  { flag: 'keepalive-timeout', attr: 'keepaliveTimeout' },
  { flag: 'user', attr: 'user' },
  { flag: 'password', attr: 'password' },
  { flag: 'cacert', attr: 'cacert' },
  { flag: 'cert', attr: 'cert' },
  { flag: 'key', attr: 'key' },
  { flag: 'insecure-skip-tls-verify', attr: 'insecureSkipTlsVerify', bool: true },
  { flag: 'insecure-transport', attr: 'insecureTransport', bool: true },
  { flag: 'debug', attr: 'debug', bool: true },
];

const envName = (prefix: string, flag: string): string => `${prefix}${flag.toUpperCase().replace(/-/g, '_')}`;

/** ETCDCTL_* variables etcdctl knows that cairnctl cannot honour; ignoring them would talk to the wrong cluster. */
const unsupported: Readonly<Record<string, string>> = {
  ETCDCTL_DISCOVERY_SRV: 'DNS SRV discovery (--discovery-srv) is not supported by cairnctl; set ETCDCTL_ENDPOINTS instead',
  ETCDCTL_DISCOVERY_SRV_NAME: 'DNS SRV discovery (--discovery-srv-name) is not supported by cairnctl; set ETCDCTL_ENDPOINTS instead',
};
/** Accepted and meaningless without SRV discovery, as in etcdctl without --discovery-srv. */
const ignored: ReadonlySet<string> = new Set(['ETCDCTL_API', 'ETCDCTL_INSECURE_DISCOVERY']);

function parseBool(text: string): boolean | undefined {
  if (/^(1|t|T|TRUE|true|True)$/.test(text)) return true;
  if (/^(0|f|F|FALSE|false|False)$/.test(text)) return false;
  return undefined;
}

/**
 * What to check before the command line is parsed: ETCDCTL_API (3 or unset; etcdctl 3.4's 2
 * selects the v2 API, which Cairn does not have), unsupported variables (an error), and
 * unknown ETCDCTL_* names (a warning on stderr, like etcdctl's).
 */
export function checkEnvironment(env: Readonly<Record<string, string | undefined>>, warn: (line: string) => void): void {
  const api = env.ETCDCTL_API;
  if (api !== undefined && api !== '' && api !== '3') {
    if (api === '2') throw new UsageError('ETCDCTL_API=2 is not supported: cairnctl speaks only the v3 API (unset ETCDCTL_API or set it to 3)', ExitCode.Error);
    throw new UsageError(`unsupported API version ${api}`, ExitCode.Error);
  }
  const known = new Set(envFlags.map((f) => envName('ETCDCTL_', f.flag)));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('ETCDCTL_') || value === undefined) continue;
    const why = unsupported[name];
    if (why !== undefined) throw new UsageError(why, ExitCode.Error);
    if (!known.has(name) && !ignored.has(name)) warn(`unrecognized environment variable ${name}=${value}\n`);
  }
}

/**
 * Fills the global flags not given on the command line from the environment. ETCDCTL_X
 * follows etcdctl: giving both it and its flag is an error, so that a stale export cannot
 * silently lose to (or win over) what was typed. CAIRNCTL_X is cairnctl's own older spelling:
 * the flag beats it quietly, and ETCDCTL_X beats it.
 */
export function applyEnvironment(program: Command, env: Readonly<Record<string, string | undefined>>): void {
  for (const f of envFlags) {
    const etcdName = envName('ETCDCTL_', f.flag);
    const cairnName = envName('CAIRNCTL_', f.flag);
    const fromCli = program.getOptionValueSource(f.attr) === 'cli';
    const etcd = env[etcdName];
    if (etcd !== undefined && fromCli) {
      throw new UsageError(
        `conflicting environment variable "${etcdName}" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`,
        ExitCode.Error,
      );
    }
    if (fromCli) continue;
    const name = etcd !== undefined ? etcdName : cairnName;
    const text = etcd ?? env[cairnName];
    if (text === undefined) continue;
    if (f.bool === true) {
      const b = parseBool(text);
      if (b === undefined) throw new UsageError(`invalid value ${JSON.stringify(text)} for ${name}: want true or false`, ExitCode.BadArgs);
      program.setOptionValueWithSource(f.attr, b, 'env');
    } else {
      program.setOptionValueWithSource(f.attr, text, 'env');
    }
  }
}
