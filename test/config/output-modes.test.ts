import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';

const load = (env: Record<string, string> = {}) => loadConfig({ env, envFile: false, cwd: '/srv/x' });

function problemsOf(env: Record<string, string>): string[] {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('OUTPUT_FILE_MODE and OUTPUT_DIR_MODE', () => {
  it('default to 0640 for files and 0750 for folders', () => {
    expect(load().outputModes).toEqual({ fileMode: 0o640, dirMode: 0o750 });
  });

  it.each([
    ['0600', '0700', 0o600, 0o700],
    ['660', '770', 0o660, 0o770],
    ['0o644', ' 0O755 ', 0o644, 0o755],
  ])('read %s and %s as octal', (file, folder, fileMode, dirMode) => {
    expect(load({ OUTPUT_FILE_MODE: file, OUTPUT_DIR_MODE: folder }).outputModes).toEqual({
      fileMode,
      dirMode,
    });
  });

  it.each(['640x', '0999', '420', '1640', 'rw-r-----', '0440', '0o7'])(
    'refuse OUTPUT_FILE_MODE=%s, naming the variable and what is expected',
    (value) => {
      expect(problemsOf({ OUTPUT_FILE_MODE: value })).toEqual([
        `OUTPUT_FILE_MODE: expected an octal mode such as 0640, 3 digits (0-7) after an optional 0 or 0o, the owner's rw (6 or 7) kept (PDFs and sidecars) (got "${value}")`,
      ]);
    },
  );

  it('refuse an OUTPUT_DIR_MODE the owner could not enter', () => {
    expect(problemsOf({ OUTPUT_DIR_MODE: '0650' })).toEqual([
      `OUTPUT_DIR_MODE: expected an octal mode such as 0750, 3 digits (0-7) after an optional 0 or 0o, the owner's rwx (7) kept (folders under OUTPUT_DIR) (got "0650")`,
    ]);
  });
});
