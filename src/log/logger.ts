import { createRequire } from 'node:module';
import type { Logger, DestinationStream } from 'pino';

/** pino, loaded when the first logger is made: a command that logs nothing (`submit`) never loads it. */
const loadLazily = createRequire(import.meta.url);
const pinoModule = (): typeof import('pino').default => loadLazily('pino') as typeof import('pino').default;

export type { Logger } from 'pino';

/**
 * Paths pino censors before a line is written. `Secret` values already print as `[redacted]`;
 * this list catches raw strings that arrive in well-known fields (headers, token responses,
 * Playwright storage state, form bodies).
 */
export const REDACT_PATHS: readonly string[] = [
  'password',
  '*.password',
  'passwd',
  'clientSecret',
  '*.clientSecret',
  'client_secret',
  '*.client_secret',
  'secret',
  '*.secret',
  'secretsKey',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'access_token',
  '*.access_token',
  'refreshToken',
  '*.refreshToken',
  'refresh_token',
  '*.refresh_token',
  'id_token',
  '*.id_token',
  'authorization',
  '*.authorization',
  'Authorization',
  '*.Authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
  'headers["set-cookie"]',
  '*.headers["set-cookie"]',
  'cookie',
  '*.cookie',
  'cookies',
  '*.cookies',
  'storageState',
  '*.storageState',
  'redisUrl',
  '*.redisUrl',
];

/** LOG_FORMAT: one JSON object per line, or pretty coloured lines for a person. */
export type LogFormat = 'json' | 'pretty';

export interface CreateLoggerOptions {
  level?: string;
  /** Pretty, coloured lines; default: when stdout is a TTY. Overridden by `format`. */
  pretty?: boolean;
  /** LOG_FORMAT; default: `pretty` on a TTY, `json` otherwise (and always json to a `destination`). */
  format?: LogFormat;
  /** Where lines go (tests pass a stream to read them back). Default: stdout. */
  destination?: DestinationStream;
  name?: string;
}

/** The format a logger writes: `format` (LOG_FORMAT) when set; else pretty on a TTY, json otherwise. */
export function logFormatOf(
  options: Pick<CreateLoggerOptions, 'format' | 'pretty' | 'destination'>,
  stdoutIsTTY: boolean,
): LogFormat {
  if (options.destination !== undefined) return 'json';
  if (options.format !== undefined) return options.format;
  return (options.pretty ?? stdoutIsTTY) ? 'pretty' : 'json';
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const pretty = logFormatOf(options, process.stdout.isTTY === true) === 'pretty';
  const pino = pinoModule();
  const base = {
    name: options.name ?? 'certharvest',
    level: options.level ?? 'info',
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
  };
  if (options.destination) return pino(base, options.destination);
  if (pretty) {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss' },
      },
    });
  }
  return pino(base);
}

/**
 * A child logger for `component`, unless the logger already names one: pino writes a key bound
 * twice twice, and a log store (Elasticsearch) rejects a line with a duplicate key.
 */
export function withComponent(
  logger: Logger,
  component: string,
  bindings: Record<string, unknown> = {},
): Logger {
  const bound = logger.bindings();
  const fresh = Object.fromEntries(Object.entries(bindings).filter(([key]) => !(key in bound)));
  return logger.child('component' in bound ? fresh : { component, ...fresh });
}
