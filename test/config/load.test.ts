import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { tempDir } from '../helpers/index.ts';

const KEY = randomBytes(32).toString('base64');

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
    const config = loadConfig({
      env: { LMS_URL: 'https://school.example', OAUTH_CLIENT_ID: 'id', OAUTH_CLIENT_SECRET: 's' },
      envFile: false,
      cwd: '/srv/x',
      needs: ['lms'],
    });
    expect(config.lms.kind).toBe('brightspace');
    expect(config.lms.host).toBe('school.example');
    expect(config.lms.auth).toMatchObject({
      kind: 'refresh-token',
      mode: 'refresh-token',
      tokenUrl: 'https://auth.brightspace.com/core/connect/token',
      authorizeUrl: 'https://auth.brightspace.com/oauth2/auth',
      scope: 'core:*:* users:userdata:read awards:issued:read awards:certificate:read',
    });
    expect(config.downloadStrategy).toBe('auto');
    expect(config.outputDir).toBe('/srv/x/certificates');
    expect(config.outagePauseAfterMs).toBe(5 * 60_000);
    expect(config.board.port).toBe(3000);
    expect(config.board.host).toBe('127.0.0.1');
    expect(config.redisUrl.reveal()).toBe('redis://127.0.0.1:6379');
    expect(config.logLevel).toBe('info');
  });

  it('parses one complete shape per auth mode', () => {
    const base = { LMS_URL: 'https://school.example/', OAUTH_CLIENT_ID: 'id' };
    const jwt = loadConfig({
      env: {
        ...base,
        AUTH_MODE: 'client-credentials',
        OAUTH_PRIVATE_KEY_FILE: '/etc/hostname',
        OAUTH_KEY_ID: 'k1',
      },
      envFile: false,
      needs: ['lms'],
    });
    expect(jwt.lms.url).toBe('https://school.example');
    expect(jwt.lms.auth).toMatchObject({
      kind: 'private-key-jwt',
      privateKeyFile: '/etc/hostname',
      keyId: 'k1',
    });
    const problems = problemsOf(() =>
      loadConfig({ env: { ...base, AUTH_MODE: 'client-credentials' }, envFile: false, needs: ['lms'] }),
    );
    expect(problems.map((p) => p.split(':')[0])).toEqual(['OAUTH_PRIVATE_KEY_FILE', 'OAUTH_KEY_ID']);
  });

  it('LMS=blackboard: Learn defaults (token URL, client credentials, login form, pages), and the web login it needs', () => {
    const env = {
      LMS: 'blackboard',
      LMS_URL: 'https://bb.example.edu/',
      OAUTH_CLIENT_ID: 'key',
      OAUTH_CLIENT_SECRET: 'secret',
    };
    const problems = problemsOf(() =>
      loadConfig({ env: { ...env, DOWNLOAD_STRATEGY: 'api' }, envFile: false, needs: ['lms'] }),
    );
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'LMS_USERNAME / LMS_PASSWORD',
      'DOWNLOAD_STRATEGY',
    ]);
    const config = loadConfig({
      env: { ...env, LMS_USERNAME: 'svc', LMS_PASSWORD: 'pw', BB_TITLE_SELECTOR: '.name' },
      envFile: false,
      needs: ['lms'],
    });
    expect(config.lms.kind).toBe('blackboard');
    expect(config.lms.auth).toMatchObject({
      kind: 'client-secret',
      mode: 'client-credentials',
      tokenUrl: 'https://bb.example.edu/learn/api/public/v1/oauth2/token',
    });
    expect(config.webSession.profile).toMatchObject({
      loginPath: '/webapps/login/',
      landingPath: '/ultra/stream',
      selectors: { username: 'input[name="user_id"]' },
      extend: { method: 'GET', path: '/ultra/stream' },
    });
    expect(config.lms.site).toMatchObject({ kind: 'blackboard', discoversWithSession: true });
    expect(config.lms.site.summary).toMatchObject({ 'achievement item': 'li.achievement' });
    const bad = problemsOf(() =>
      loadConfig({
        env: {
          ...env,
          LMS_USERNAME: 'svc',
          LMS_PASSWORD: 'pw',
          BB_ACHIEVEMENTS_URL: '/x.form?course={courseId}&u={student}',
        },
        envFile: false,
        needs: ['lms'],
      }),
    );
    expect(bad).toEqual([expect.stringMatching(/^BB_ACHIEVEMENTS_URL: .*\{student\}/)]);
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

  it('takes LP_VERSION and BAS_VERSION as version overrides, and refuses other shapes', () => {
    const env = {
      LMS_URL: 'https://lms.example',
      OAUTH_CLIENT_ID: 'id',
      OAUTH_CLIENT_SECRET: 'secret',
      LP_VERSION: '1.60',
    };
    const config = loadConfig({ env, envFile: false, needs: ['lms'] });
    expect(config.lms.site.summary).toEqual({ LP_VERSION: '1.60' });
    const problems = problemsOf(() =>
      loadConfig({ env: { ...env, LP_VERSION: 'latest', BAS_VERSION: '1' }, envFile: false, needs: ['lms'] }),
    );
    expect(
      problems.filter((p) => /^(LP|BAS)_VERSION: expected a Valence API version such as 1\.53/.test(p)),
    ).toHaveLength(2);
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

  it('refuses a SECRETS_KEY (or SECRETS_KEY_PREVIOUS) of low entropy, without echoing it', () => {
    const weak = [
      Buffer.alloc(32), // 32 zero bytes
      Buffer.alloc(32, 0xab),
      Buffer.from('0123'.repeat(8)), // a 4-byte pattern
      randomBytes(8).toString('hex').repeat(2), // 16 bytes written twice
      Buffer.from(Array.from(randomBytes(32), (b) => 97 + (b % 10))), // no pattern, 10 different bytes
    ].map((b) => (typeof b === 'string' ? Buffer.from(b) : b).toString('base64'));
    for (const key of weak) {
      for (const name of ['SECRETS_KEY', 'SECRETS_KEY_PREVIOUS']) {
        const problems = problemsOf(() => loadConfig({ env: { [name]: key }, envFile: false }));
        expect(problems).toEqual([
          expect.stringMatching(
            new RegExp(`^${name}: .*repeated pattern or has too few different bytes.*\\(value hidden\\)$`),
          ),
        ]);
        expect(problems.join()).not.toContain(key);
      }
    }
    // A random key passes, as SECRETS_KEY_PREVIOUS too.
    const other = randomBytes(32).toString('base64');
    expect(
      loadConfig({
        env: { SECRETS_KEY: KEY, SECRETS_KEY_PREVIOUS: other },
        envFile: false,
      }).secretsKeyPrevious?.reveal(),
    ).toBe(other);
  });

  it('refuses a board password under 12 characters beyond loopback or read-write, never echoing it', () => {
    const board = (env: Record<string, string>) =>
      loadConfig({ env: { BOARD_USER: 'ops', ...env }, envFile: false, needs: ['board-auth'] });
    const short = 'x7-secret';
    const beyond = problemsOf(() => board({ BOARD_PASSWORD: short, BOARD_HOST: '0.0.0.0' }));
    expect(beyond).toEqual([
      expect.stringMatching(
        /^BOARD_PASSWORD: expected at least 12 characters when the board listens beyond loopback \(BOARD_HOST=0\.0\.0\.0\)/,
      ),
    ]);
    const writable = problemsOf(() => board({ BOARD_PASSWORD: short, BOARD_READ_ONLY: 'false' }));
    expect(writable).toEqual([
      expect.stringMatching(/^BOARD_PASSWORD: .*read-write \(BOARD_READ_ONLY=false\)/),
    ]);
    expect(problemsOf(() => board({ BOARD_PASSWORD: 'x', BOARD_HOST: '::' }))[0]).toMatch(/^BOARD_PASSWORD/);
    for (const p of [...beyond, ...writable]) expect(p).not.toContain(short);
    // Read-only on loopback, a short password is the operator's call; 12+ is fine anywhere.
    expect(board({ BOARD_PASSWORD: short }).board.password.reveal()).toBe(short);
    expect(board({ BOARD_PASSWORD: short, BOARD_HOST: 'localhost' }).board.host).toBe('localhost');
    expect(
      board({ BOARD_PASSWORD: 'twelve chars', BOARD_HOST: '0.0.0.0', BOARD_READ_ONLY: 'false' }).board
        .readOnly,
    ).toBe(false);
  });

  it('an empty variable in the environment overrides the .env file and means unset', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeFile(
        path.join(dir, '.env'),
        [
          'BOARD_PASSWORD=from-the-env-file',
          'BATCH_WEBHOOK_URL=https://hooks.example/certharvest',
          'BATCH_WEBHOOK_SECRET=a-webhook-secret-of-some-length',
          'LOG_LEVEL=debug',
          'BOARD_ENV_LABEL=',
        ].join('\n'),
      );
      const fromFile = loadConfig({ env: {}, cwd: dir });
      expect(fromFile.board.password?.reveal()).toBe('from-the-env-file');
      expect(fromFile.batchWebhook?.url).toBe('https://hooks.example/certharvest');
      expect(fromFile.board.envLabel).toBeUndefined(); // empty in the file: unset too

      const off = loadConfig({
        env: { BOARD_PASSWORD: '', BATCH_WEBHOOK_URL: '', BATCH_WEBHOOK_SECRET: '' },
        cwd: dir,
      });
      expect(off.board.password).toBeUndefined();
      expect(off.batchWebhook).toBeUndefined();
      expect(off.logLevel).toBe('debug'); // what the environment does not name still comes from the file
      // Turned off, the board's password is missing again, as if never set.
      expect(
        problemsOf(() =>
          loadConfig({ env: { BOARD_USER: 'ops', BOARD_PASSWORD: '' }, cwd: dir, needs: ['board-auth'] }),
        ),
      ).toEqual([
        expect.stringMatching(/^BOARD_PASSWORD: expected a password for the dashboard \(it is not set\)/),
      ]);
    } finally {
      await cleanup();
    }
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
      expect(config.logLevel).toBe('warn');
      expect(problemsOf(() => loadConfig({ env: {}, cwd: dir, needs: ['lms'] }))[0]).toMatch(
        /^OAUTH_CLIENT_ID/,
      );
      const withUser = loadConfig({ env: { LMS_USERNAME: 'svc' }, cwd: dir, needs: ['browser-login'] });
      expect(withUser.webLogin.password.reveal()).toBe('pw');
    } finally {
      await cleanup();
    }
  });

  it('keeps secrets out of JSON and inspection', () => {
    const config = loadConfig({
      env: {
        LMS_USERNAME: 'svc',
        LMS_PASSWORD: 'hunter2',
        LMS_URL: 'https://x.example',
        OAUTH_CLIENT_ID: 'id',
        OAUTH_CLIENT_SECRET: 's3cr3t',
      },
      envFile: false,
    });
    const dumped = JSON.stringify(config) + String(config.webLogin?.password);
    expect(dumped).not.toContain('hunter2');
    expect(dumped).not.toContain('s3cr3t');
    expect(dumped).toContain('[redacted]');
  });

  it('refuses an LMS_URL with a path, a query or a fragment, naming the site address to use', () => {
    const env = (url: string) => ({ LMS_URL: url, OAUTH_CLIENT_ID: 'id', OAUTH_CLIENT_SECRET: 's' });
    const lmsUrlProblem = (url: string) =>
      problemsOf(() => loadConfig({ env: env(url), envFile: false })).find((p) => p.startsWith('LMS_URL:'));
    expect(lmsUrlProblem('https://school.example.edu/d2l/home')).toContain(
      'LMS_URL: "https://school.example.edu/d2l/home" has a path (/d2l/home); ' +
        "use the site's address alone: LMS_URL=https://school.example.edu",
    );
    expect(lmsUrlProblem('https://school.example.edu:8443/?ou=6606')).toContain(
      "has a query (?ou=6606); use the site's address alone: LMS_URL=https://school.example.edu:8443",
    );
    expect(lmsUrlProblem('https://school.example.edu#top')).toContain('has a fragment (#top)');
    expect(lmsUrlProblem('https://school.example.edu/d2l/le?x=1#y')).toContain(
      'has a path (/d2l/le) and a query (?x=1) and a fragment (#y)',
    );
    // user:password@ is never echoed, not even in the suggestion.
    const withCredentials = lmsUrlProblem('https://svc:hunter2@school.example.edu/d2l');
    expect(withCredentials).toContain('the URL has a path (/d2l)');
    expect(withCredentials).not.toContain('hunter2');
    // The site's address, with or without a trailing "/", is fine.
    for (const url of [
      'https://school.example.edu',
      'https://school.example.edu/',
      'http://127.0.0.1:4470/',
    ]) {
      expect(loadConfig({ env: env(url), envFile: false, needs: ['lms'] }).lms.url).toBe(
        url.replace(/\/$/, ''),
      );
    }
  });

  it('keeps paths in the other URL variables (a webhook, the token endpoint)', () => {
    const config = loadConfig({
      env: {
        LMS_URL: 'https://school.example.edu',
        OAUTH_CLIENT_ID: 'id',
        OAUTH_CLIENT_SECRET: 's',
        OAUTH_TOKEN_URL: 'https://auth.example.edu/core/connect/token?tenant=1',
        BATCH_WEBHOOK_URL: 'https://hooks.example.edu/certharvest/batches',
        BATCH_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
      },
      envFile: false,
      needs: ['lms'],
    });
    expect(config.lms.auth.tokenUrl).toBe('https://auth.example.edu/core/connect/token?tenant=1');
    expect(config.batchWebhook?.url).toBe('https://hooks.example.edu/certharvest/batches');
  });
});
