/** Thrown for any invalid environment value; main.ts prints its message as one line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
