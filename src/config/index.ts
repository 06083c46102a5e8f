export {
  authConfigSchema,
  DEFAULT_REDIRECT_URI,
  loadConfig,
  type AuthConfig,
  type BoardConfig,
  type Config,
  type ConfigNeed,
  type ConfigWith,
  type LmsConfig,
  type LoadConfigOptions,
  type WebLoginConfig,
  type WebSessionConfig,
} from './load.ts';
export type { AuthMode, DownloadStrategy, LmsKind, LogLevel } from './load.ts';
export { Secret } from './secret.ts';
export { LOG_LEVELS } from './schema.ts';
