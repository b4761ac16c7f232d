/**
 * The daemon's version, as `cairn --version` prints it. Kept equal to this package's
 * package.json version (version.test.ts checks it after `pnpm changeset version`); a constant,
 * so start-up reads no file.
 */
export const CAIRN_VERSION = '0.1.0';
