import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { tempDir } from '../helpers/index.ts';

const KEY = Buffer.alloc(32, 7).toString('base64');

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({ env: {}, envFile: false, cwd: '/srv/x' });
    expect(config.lms).toBe('brightspace');
    expect(config.authMode).toBe('refresh-token');
    expect(config.downloadStrategy).toBe('auto');
    expect(config.outputDir).toBe('/srv/x/certificates');
    expect(config.oauth.tokenUrl).toBe('https://auth.brightspace.com/core/connect/token');
    expect(config.oauth.authorizeUrl).toBe('https://auth.brightspace.com/oauth2/auth');
    expect(config.board.port).toBe(3000);
    expect(config.board.host).toBe('127.0.0.1');
    expect(config.redisUrl.reveal()).toBe('redis://127.0.0.1:6379');
    expect(config.logLevel).toBe('info');
  });

  it('derives Blackboard defaults from LMS_URL', () => {
    const config = loadConfig({
      env: { LMS: 'blackboard', LMS_URL: 'https://bb.example.edu/' },
      envFile: false,
    });
    expect(config.authMode).toBe('client-credentials');
    expect(config.lmsUrl).toBe('https://bb.example.edu');
    expect(config.oauth.tokenUrl).toBe('https://bb.example.edu/learn/api/public/v1/oauth2/token');
  });

  it('names every wrong variable once, with what is expected', () => {
    const problems = problemsOf(() =>
      loadConfig({
        env: {
          LMS: 'moodle',
          LMS_URL: 'ftp://x',
          BOARD_PORT: '99999',
          DOWNLOAD_STRATEGY: 'fast',
          LOG_LEVEL: 'loud',
        },
        envFile: false,
      }),
    );
    expect(problems).toHaveLength(5);
    expect(problems.find((p) => p.startsWith('LMS:'))).toMatch(/"brightspace" or "blackboard".*got "moodle"/);
    expect(problems.find((p) => p.startsWith('LMS_URL:'))).toMatch(/http\(s\) URL/);
    expect(problems.find((p) => p.startsWith('BOARD_PORT:'))).toMatch(/1 to 65535/);
    expect(problems.find((p) => p.startsWith('DOWNLOAD_STRATEGY:'))).toMatch(/"auto", "api" or "browser"/);
    expect(problems.find((p) => p.startsWith('LOG_LEVEL:'))).toMatch(/info/);
  });

  it('never echoes a secret value, even a wrong one', () => {
    const problems = problemsOf(() =>
      loadConfig({ env: { SECRETS_KEY: 'my-very-secret-value' }, envFile: false }),
    );
    expect(problems[0]).toMatch(/^SECRETS_KEY: expected 32 random bytes in base64/);
    expect(problems.join()).not.toContain('my-very-secret-value');
  });

  it('accepts a 32-byte base64 SECRETS_KEY and rejects other lengths', () => {
    expect(loadConfig({ env: { SECRETS_KEY: KEY }, envFile: false }).secretsKey?.reveal()).toBe(KEY);
    const short = Buffer.alloc(16).toString('base64');
    expect(problemsOf(() => loadConfig({ env: { SECRETS_KEY: short }, envFile: false }))[0]).toMatch(
      /SECRETS_KEY/,
    );
  });

  it('reports what a command needs and is missing', () => {
    const problems = problemsOf(() =>
      loadConfig({ env: {}, envFile: false, needs: ['lms', 'browser-login', 'board-auth', 'secrets-key'] }),
    );
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'LMS_URL',
      'OAUTH_CLIENT_ID',
      'OAUTH_CLIENT_SECRET',
      'LMS_USERNAME',
      'LMS_PASSWORD',
      'BOARD_USER',
      'BOARD_PASSWORD',
      'SECRETS_KEY',
    ]);
  });

  it('reads a .env file, with the real environment taking precedence', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeFile(
        path.join(dir, '.env'),
        'LMS_URL=https://from-file.example\nLOG_LEVEL=debug\nLMS_PASSWORD=pw\n',
      );
      const config = loadConfig({ env: { LOG_LEVEL: 'warn' }, cwd: dir });
      expect(config.lmsUrl).toBe('https://from-file.example');
      expect(config.logLevel).toBe('warn');
      expect(config.lmsPassword?.reveal()).toBe('pw');
    } finally {
      await cleanup();
    }
  });

  it('keeps secrets out of JSON and inspection', () => {
    const config = loadConfig({
      env: { LMS_PASSWORD: 'hunter2', OAUTH_CLIENT_SECRET: 's3cr3t' },
      envFile: false,
    });
    const dumped = JSON.stringify(config) + String(config.lmsPassword);
    expect(dumped).not.toContain('hunter2');
    expect(dumped).not.toContain('s3cr3t');
    expect(dumped).toContain('[redacted]');
  });
});
