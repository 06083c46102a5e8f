import { Command } from 'commander';
import { parse as parseDotenv } from 'dotenv';
import { describe, expect, it } from 'vitest';
import { registerSandboxCommand, type SandboxCommandIo } from '../../src/cli/commands/sandbox.ts';
import { UsageError } from '../../src/errors/index.ts';
import { createSandboxCommand, parseSandboxFlags as parseOptions, type Sandbox } from '@certharvest/sandbox';
import { sleepUntil } from '../helpers/index.ts';
import { refresh } from './helpers.ts';

function program(io: SandboxCommandIo = {}): Command {
  const p = new Command('certharvest').exitOverride();
  registerSandboxCommand(p, io);
  p.commands.forEach((c) => c.exitOverride());
  return p;
}

describe('certharvest sandbox', () => {
  it.each([
    [['--error-rate', '2'], /^--error-rate: expected a number from 0 to 1.*got "2"/],
    [['--truncate-rate', 'half'], /^--truncate-rate: expected a number from 0 to 1/],
    [['--throttle-rate', '-0.1'], /^--throttle-rate: /],
    [['--port', '70000'], /^--port: expected a whole number from 0 to 65535/],
    [['--users', '1.5'], /^--users: expected a whole number/],
    [['--latency-ms=-5'], /^--latency-ms: expected a whole number/],
    [['--access-token-ttl', '0'], /^--access-token-ttl: expected a whole number 1 or more/],
    [['--session-idle-seconds', 'soon'], /^--session-idle-seconds: /],
    [['--session-max-requests', 'x'], /^--session-max-requests: /],
    [['--rate-limit-credits', '1e3'], /^--rate-limit-credits: /],
    [['--truncate-style', 'half'], /^--truncate-style: expected content-length or connection-close/],
    [['--render-throttle-rate', '1.5'], /^--render-throttle-rate: expected a number from 0 to 1.*got "1.5"/],
    [['--render-throttle-rate', 'often'], /^--render-throttle-rate: expected a number from 0 to 1/],
    [['--render-throttle-first', '-1'], /^--render-throttle-first: expected a whole number 0 or more/],
    [['--render-throttle-first', '2.5'], /^--render-throttle-first: expected a whole number/],
    [['--render-throttle-status', '500'], /^--render-throttle-status: expected 429 or 503 \(got "500"\)/],
    [['--render-throttle-status', 'slow'], /^--render-throttle-status: expected 429 or 503/],
    [['--retry-after-seconds', '3601'], /^--retry-after-seconds: expected a whole number from 0 to 3600/],
    [['--retry-after-seconds', '1.5'], /^--retry-after-seconds: expected a whole number from 0 to 3600/],
    [
      ['--expiry-style', '404'],
      /^--expiry-style: expected login-page or redirect or forbidden or unauthorized \(got "404"\)/,
    ],
    [['--pdf-content-type', 'text/plain'], /^--pdf-content-type: expected application\/pdf or /],
    [
      ['--forbidden-issued-ids', '10001,x'],
      /^--forbidden-issued-ids: expected comma-separated whole numbers/,
    ],
    [['--huge-body-issued-ids', '1.5'], /^--huge-body-issued-ids: expected comma-separated whole numbers/],
    [['--off-host-redirect-issued-ids', '1,,2'], /^--off-host-redirect-issued-ids: expected comma-separated/],
    [['--huge-body-bytes', '-1'], /^--huge-body-bytes: expected a whole number 0 or more/],
  ])('refuses %j with a UsageError naming the flag', async (args, message) => {
    const run = program({ untilStop: () => Promise.resolve() }).parseAsync(['sandbox', ...args], {
      from: 'user',
    });
    await expect(run).rejects.toBeInstanceOf(UsageError);
    await expect(run).rejects.toThrow(message);
  });

  it('turns the render-throttle flags into knobs, and leaves them unset without the flags', () => {
    const raw = {
      host: '127.0.0.1',
      port: '0',
      seed: '1',
      users: '40',
      awardsPageSize: '5',
      usersPageSize: '10',
    };
    expect(parseOptions(raw).knobs).toEqual({});
    expect(
      parseOptions({
        ...raw,
        renderThrottleRate: '0.25',
        renderThrottleFirst: '2',
        renderThrottleStatus: '503',
        retryAfterSeconds: '30',
      }).knobs,
    ).toEqual({
      renderThrottleRate: 0.25,
      renderThrottleFirst: 2,
      renderThrottleStatus: 503,
      retryAfterSeconds: 30,
    });
    expect(
      parseOptions({
        ...raw,
        renderThrottleRate: '1',
        renderThrottleFirst: '0',
        renderThrottleStatus: '429',
        retryAfterSeconds: '0',
      }).knobs,
    ).toEqual({
      renderThrottleRate: 1,
      renderThrottleFirst: 0,
      renderThrottleStatus: 429,
      retryAfterSeconds: 0,
    });
    expect(parseOptions({ ...raw, retryAfterSeconds: '3600' }).knobs).toEqual({ retryAfterSeconds: 3600 });
  });

  it('turns the real-tenant flags into knobs', () => {
    const raw = {
      host: '127.0.0.1',
      port: '0',
      seed: '1',
      users: '40',
      awardsPageSize: '5',
      usersPageSize: '10',
    };
    expect(
      parseOptions({
        ...raw,
        twoFactor: true,
        ssoRedirect: true,
        termsInterstitial: true,
        expiryStyle: 'unauthorized',
        pdfContentType: 'none',
        forbiddenIssuedIds: '10001, 10002',
        hugeBodyIssuedIds: '10003',
        hugeBodyBytes: '0',
        offHostRedirectIssuedIds: '',
      }).knobs,
    ).toEqual({
      twoFactor: true,
      ssoRedirect: true,
      termsInterstitial: true,
      expiryStyle: 'unauthorized',
      pdfContentType: 'none',
      forbiddenIssuedIds: [10001, 10002],
      hugeBodyIssuedIds: [10003],
      hugeBodyBytes: 0,
      offHostRedirectIssuedIds: [],
    });
  });

  // The flags and their help belong to the package (the product's command passes its arguments on).
  it('has --help that fits 80 columns and shows the render-throttle flags with an example', () => {
    const sandbox = createSandboxCommand({ untilStop: () => Promise.resolve() });
    let help = '';
    sandbox.configureOutput({ writeOut: (text) => (help += text), getOutHelpWidth: () => 80 });
    sandbox.outputHelp();
    expect(help.split('\n').filter((line) => line.length > 80)).toEqual([]);
    for (const flag of [
      '--render-throttle-rate <0..1>',
      '--render-throttle-first <n>',
      '--render-throttle-status <429|503>',
      '--retry-after-seconds <s>',
      '--two-factor',
      '--sso-redirect',
      '--terms-interstitial',
      '--expiry-style <style>',
      '--pdf-content-type <type>',
      '--forbidden-issued-ids <ids>',
      '--huge-body-issued-ids <ids>',
      '--huge-body-bytes <n>',
      '--off-host-redirect-issued-ids <ids>',
    ]) {
      expect(help).toContain(flag);
    }
    expect(help).toMatch(/^ {2}certharvest sandbox .*--render-throttle-/m);
    expect(help).not.toContain('--unreachable');
  });

  it('prints a commented header and a ready .env block, serves, and closes when told to stop', async () => {
    let output = '';
    let started: Sandbox | undefined;
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const run = program({
      write: (text) => (output += text),
      untilStop: () => stopped,
      onStarted: (sb) => (started = sb as Sandbox),
    }).parseAsync(
      [
        'sandbox',
        '--seed',
        '5',
        '--users',
        '7',
        '--pdf-api',
        '--access-token-ttl',
        '120',
        '--latency-ms',
        '1',
        '--render-throttle-first',
        '1',
        '--render-throttle-status',
        '503',
      ],
      { from: 'user' },
    );
    const sb: Sandbox = await sleepUntil(() => started as Sandbox);
    const lines = output.trimEnd().split('\n');
    const header = lines.filter((l) => l.startsWith('#'));
    expect(header[0]).toBe(
      `# certharvest sandbox: a simulated Brightspace LMS at ${sb.url} (consent page: new-client)`,
    );
    expect(header.join('\n')).toMatch(/seed 5: 7 students/);
    const env = parseDotenv(output);
    expect(Object.keys(env)).toEqual([
      'LMS_URL',
      'OAUTH_TOKEN_URL',
      'OAUTH_AUTHORIZE_URL',
      'OAUTH_CLIENT_ID',
      'OAUTH_CLIENT_SECRET',
      'OAUTH_REFRESH_TOKEN',
      'OAUTH_SCOPE',
      'LMS_USERNAME',
      'LMS_PASSWORD',
    ]);
    expect(env).toEqual({ ...sb.env });
    expect(header.join('\n')).toMatch(/throttled renders: 0% and the first 1 per certificate, answered 503/);
    expect(sb.knobs).toMatchObject({
      pdfApi: true,
      accessTokenTtlSeconds: 120,
      latencyMs: 1,
      renderThrottleFirst: 1,
      renderThrottleStatus: 503,
      retryAfterSeconds: 1,
    });
    expect(sb.institution.seed).toBe(5);

    const tokens = await refresh(sb, env.OAUTH_REFRESH_TOKEN!);
    expect(tokens.status).toBe(200);
    expect(tokens.body.expires_in).toBe(120);

    stop();
    await run;
    await expect(fetch(`${env.LMS_URL}/d2l/api/versions/`)).rejects.toThrow();
  });

  it('with --two-factor, adds LMS_TOTP_SECRET to the .env block and describes the special renders', async () => {
    let output = '';
    let started: Sandbox | undefined;
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const run = program({
      write: (text) => (output += text),
      untilStop: () => stopped,
      onStarted: (sb) => (started = sb as Sandbox),
    }).parseAsync(
      [
        'sandbox',
        '--users',
        '3',
        '--two-factor',
        '--expiry-style',
        'redirect',
        '--forbidden-issued-ids',
        '10001,10002',
        '--off-host-redirect-issued-ids',
        '10003',
      ],
      { from: 'user' },
    );
    const sb: Sandbox = await sleepUntil(() => started as Sandbox);
    const env = parseDotenv(output);
    expect(Object.keys(env).at(-1)).toBe('LMS_TOTP_SECRET');
    expect(env.LMS_TOTP_SECRET).toBe(sb.totpSecret);
    expect(env).toEqual({ ...sb.env });
    expect(output).toMatch(
      /^# .*login: two-factor on, SSO redirect off, terms page off; render without a session: redirect/m,
    );
    expect(output).toContain('#        render of IssuedIds 10001,10002: answered 403');
    expect(output).toContain(`#        render of IssuedIds 10003: a 302 to ${sb.elsewhereUrl}`);
    expect(sb.knobs).toMatchObject({
      twoFactor: true,
      expiryStyle: 'redirect',
      forbiddenIssuedIds: [10001, 10002],
    });
    stop();
    await run;
  });
});
