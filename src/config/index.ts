export {
  authConfigSchema,
  LOG_LEVELS,
  type AuthConfig,
  type AuthMode,
  type BoardConfig,
  type Config,
  type ConfigNeed,
  type ConfigWith,
  type DownloadStrategy,
  type LmsConfig,
  type LmsKind,
  type LogLevel,
  type WebLoginConfig,
  type WebSessionConfig,
  type WorkerConfig,
} from './shape.ts';
export { DEFAULT_REDIRECT_URI, loadConfig, type LoadConfigOptions } from './load.ts';
export { hashTagOf, untaggedPrefixProblem, type RedisClusterConfig, type RedisNode } from './redis-values.ts';
export { Secret } from './secret.ts';
