/** cairnctl's own version (kept in step with package.json by hand; read at no cost at startup). */
export const CAIRNCTL_VERSION = '0.1.0';
