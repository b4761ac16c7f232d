/**
 * cairnctl's own version. Kept equal to this package's package.json version (version.test.ts
 * checks it after `pnpm changeset version`); a constant, so start-up reads no file.
 */
export const CAIRNCTL_VERSION = '0.1.0';
