export { loadConfig, type Config, type ConfigNeed, type LoadConfigOptions } from './load.ts';
export type { AuthMode, DownloadStrategy, LmsKind, LogLevel } from './load.ts';
export { Secret } from './secret.ts';
export { LOG_LEVELS } from './schema.ts';
