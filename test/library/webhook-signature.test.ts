import { createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { signWebhook, verifyWebhook, WebhookVerificationError } from '../../src/library/verify-webhook.ts';

const SECRET = `whsec_${Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)).toString('base64')}`;
const BODY = JSON.stringify({ event: 'batch.done', batchId: 'b-1' });
const ID = '1765000000000-0';

/** The Python recipe of docs/producers.md, step by step, in Node (it must accept what we send). */
function pythonRecipe(secret: string, headers: Record<string, string>, body: Buffer): boolean {
  const msgId = headers['webhook-id']!;
  const ts = headers['webhook-timestamp']!;
  if (!/^\d{1,12}$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const key = secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
  const expected = createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from(`${msgId}.${ts}.`), body]))
    .digest('base64');
  return headers['webhook-signature']!.split(' ').some((s) => {
    if (!s.startsWith('v1,')) return false;
    const a = Buffer.from(s.slice(3));
    const b = Buffer.from(expected);
    return a.length === b.length && timingSafeEqual(a, b);
  });
}

describe('the batch webhook signature (Standard Webhooks)', () => {
  it('signs id, timestamp and body; verifyWebhook accepts it and returns the body', () => {
    const headers = signWebhook(SECRET, ID, new Date(), BODY);
    expect(headers['webhook-id']).toBe(ID);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(verifyWebhook(SECRET, BODY, headers)).toEqual(JSON.parse(BODY));
    // The id is signed: another id with the same signature is refused.
    expect(() => verifyWebhook(SECRET, BODY, { ...headers, 'webhook-id': '1765000000001-0' })).toThrow(
      WebhookVerificationError,
    );
    // So is the body.
    expect(() => verifyWebhook(SECRET, BODY.replace('b-1', 'b-2'), headers)).toThrow(
      WebhookVerificationError,
    );
  });

  it('refuses a wrong secret, an old or future timestamp, and a malformed one', () => {
    const now = signWebhook(SECRET, ID, new Date(), BODY);
    const other = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    expect(() => verifyWebhook(other, BODY, now)).toThrow(WebhookVerificationError);
    for (const at of [
      new Date(Date.now() - 6 * 60_000),
      new Date('2001-09-09T01:46:40Z'),
      new Date(Date.now() + 6 * 60_000),
    ]) {
      const h = signWebhook(SECRET, ID, at, BODY);
      expect(() => verifyWebhook(SECRET, BODY, h), at.toISOString()).toThrow(/timestamp too (old|new)/);
    }
    // Within the tolerance: accepted.
    expect(() =>
      verifyWebhook(SECRET, BODY, signWebhook(SECRET, ID, new Date(Date.now() - 4 * 60_000), BODY)),
    ).not.toThrow();
    // Malformed timestamps, even with a signature made over what they parse to.
    const t = now['webhook-timestamp'];
    for (const bad of ['0x3b9aca00', `${t}abc`, ` ${t}`, `${t}.0`, '-1', '']) {
      expect(() => verifyWebhook(SECRET, BODY, { ...now, 'webhook-timestamp': bad }), bad).toThrow(
        WebhookVerificationError,
      );
    }
    expect(() => verifyWebhook(SECRET, BODY, { 'webhook-id': ID, 'webhook-timestamp': t })).toThrow(
      WebhookVerificationError,
    );
  });

  it('the Node recipe (the standardwebhooks library on its own) and the Python recipe accept our deliveries', () => {
    const headers = signWebhook(SECRET, ID, new Date(), BODY);
    expect(new Webhook(SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    expect(pythonRecipe(SECRET, { ...headers }, Buffer.from(BODY))).toBe(true);
    // The Python recipe refuses what the library refuses.
    expect(pythonRecipe(SECRET, { ...headers, 'webhook-timestamp': '0x3b9aca00' }, Buffer.from(BODY))).toBe(
      false,
    );
    const old = signWebhook(SECRET, ID, new Date(Date.now() - 301_000), BODY);
    expect(pythonRecipe(SECRET, { ...old }, Buffer.from(BODY))).toBe(false);
    expect(
      pythonRecipe(`whsec_${Buffer.alloc(32, 9).toString('base64')}`, { ...headers }, Buffer.from(BODY)),
    ).toBe(false);
  });

  it('a plain secret (the format before whsec_) is the key whsec_ + base64 of it names', () => {
    const plain = 'webhook-signing-key-0123456789abcdef';
    const headers = signWebhook(plain, ID, new Date(), BODY);
    expect(() => verifyWebhook(plain, BODY, headers)).not.toThrow();
    const asWhsec = `whsec_${Buffer.from(plain).toString('base64')}`;
    expect(new Webhook(asWhsec).verify(BODY, headers)).toEqual(JSON.parse(BODY));
    expect(pythonRecipe(plain, { ...headers }, Buffer.from(BODY))).toBe(true);
  });
});

describe('the webhook settings', () => {
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      loadConfig({ env, envFile: false });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return [...(err as ConfigError).problems];
    }
    throw new Error('expected a ConfigError');
  };

  it('a URL with credentials is refused without echoing them', () => {
    const problems = problemsOf({
      BATCH_WEBHOOK_URL: 'https://hookuser:hunter2-PaSS@hooks.example.edu/certharvest',
      BATCH_WEBHOOK_SECRET: SECRET,
    });
    const text = problems.join('\n');
    expect(text).toMatch(/BATCH_WEBHOOK_URL: expected a URL without user:password@/);
    expect(text).toContain('value hidden');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('hookuser');
    // A URL without them is fine.
    const config = loadConfig({
      env: { BATCH_WEBHOOK_URL: 'https://hooks.example.edu/certharvest', BATCH_WEBHOOK_SECRET: SECRET },
      envFile: false,
    });
    expect(config.batchWebhook).toMatchObject({
      url: 'https://hooks.example.edu/certharvest',
      retryForMs: 86_400_000,
    });
  });

  it('the secret is whsec_ and 24+ random bytes (or a plain 16+ character key); the error says how to make one', () => {
    const url = 'https://hooks.example.edu/x';
    for (const bad of [
      'whsec_short',
      `whsec_${Buffer.alloc(16, 1).toString('base64')}`,
      'whsec_not base64!!',
      'too-short',
    ]) {
      const text = problemsOf({ BATCH_WEBHOOK_URL: url, BATCH_WEBHOOK_SECRET: bad }).join('\n');
      expect(text, bad).toMatch(/BATCH_WEBHOOK_SECRET: expected whsec_ .*openssl rand -base64 32/);
      expect(text).not.toContain(bad);
    }
    const ok = loadConfig({ env: { BATCH_WEBHOOK_URL: url, BATCH_WEBHOOK_SECRET: SECRET }, envFile: false });
    expect(ok.batchWebhook?.secret.reveal()).toBe(SECRET);
  });

  it('BATCH_WEBHOOK_RETRY_FOR and BATCH_WEBHOOK_ALERT_AFTER are durations', () => {
    const url = 'https://hooks.example.edu/x';
    const config = loadConfig({
      env: {
        BATCH_WEBHOOK_URL: url,
        BATCH_WEBHOOK_SECRET: SECRET,
        BATCH_WEBHOOK_RETRY_FOR: '2d',
        BATCH_WEBHOOK_ALERT_AFTER: '30m',
      },
      envFile: false,
    });
    expect(config.batchWebhook).toMatchObject({ retryForMs: 2 * 86_400_000, alertAfterMs: 30 * 60_000 });
    expect(
      problemsOf({
        BATCH_WEBHOOK_URL: url,
        BATCH_WEBHOOK_SECRET: SECRET,
        BATCH_WEBHOOK_RETRY_FOR: 'soon',
      }).join(),
    ).toMatch(/BATCH_WEBHOOK_RETRY_FOR: expected a duration/);
  });
});
