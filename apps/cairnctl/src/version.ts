import { createRequire } from 'node:module';

/**
 * cairnctl's own version, read from its package.json (the one place it is written). The path
 * holds from src/ (tests) and from dist/ (the built CLI) alike; the module is imported only by
 * `cairnctl version`, so other commands do not read the file.
 */
export const CAIRNCTL_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
