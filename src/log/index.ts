export {
  createLogger,
  logFormatOf,
  REDACT_PATHS,
  withComponent,
  type CreateLoggerOptions,
  type LogFormat,
  type Logger,
} from './logger.ts';
