import { createRequire } from 'node:module';

/**
 * This member's version, read from @cairn/server's package.json (the one place it is written);
 * the path holds from src/ (tests) and from dist/ alike.
 */
export const SERVER_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** The cluster version a member of this version speaks for, major.minor.0 as etcd reports it. */
export const CLUSTER_VERSION: string = SERVER_VERSION.replace(/^(\d+)\.(\d+)\..*$/, '$1.$2.0');
