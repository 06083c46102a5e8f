import pino, { type Logger, type DestinationStream } from 'pino';

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

export interface CreateLoggerOptions {
  level?: string;
  /** Pretty, coloured lines; default: when stdout is a TTY. */
  pretty?: boolean;
  /** Where lines go (tests pass a stream to read them back). Default: stdout. */
  destination?: DestinationStream;
  name?: string;
}

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const pretty = options.pretty ?? (process.stdout.isTTY === true && options.destination === undefined);
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
