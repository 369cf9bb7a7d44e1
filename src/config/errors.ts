export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}
