/** A setting the daemon cannot honour: reported as one line, exit code 1. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
