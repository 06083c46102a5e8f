import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenProvider, SealedBox } from '../../src/auth/index.ts';
import { SessionStore } from '../../src/browser/index.ts';
import { createLogger } from '../../src/log/index.ts';
import { startBoardServer } from '../../src/server/index.ts';
import type { RedisConnection } from '../../src/queue/index.ts';
import { keysMatching, sleepUntil } from '../helpers/index.ts';
import { startPipeline, studentsWithCertificates, type Pipeline } from './harness.ts';

/** Every value under `prefix*`, whatever its Redis type, as one string. */
async function dumpRedis(redis: RedisConnection, prefix: string): Promise<string> {
  const keys = await keysMatching(redis, `${prefix}*`);
  const parts: string[] = [];
  for (const key of keys) {
    const type = await redis.type(key);
    if (type === 'string') parts.push((await redis.getBuffer(key))?.toString('latin1') ?? '');
    else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
    else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
    else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
    else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, 0, -1)));
    else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    parts.push(key);
  }
  return parts.join('\n');
}

let p: Pipeline;
let hook: http.Server | undefined;
const webhookBodies: string[] = [];
beforeAll(async () => {
  // A webhook receiver, so the webhook's signing key is in play too.
  hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      webhookBodies.push(`${JSON.stringify(req.headers)}\n${body}`);
      res.end();
    });
  });
  await new Promise<void>((r) => hook!.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/`;
  // Short-lived tokens, so several rotated pairs pass through the store during the run.
  // Two-factor on, so the TOTP secret is in play too.
  p = await startPipeline({
    knobs: { accessTokenTtlSeconds: 2, sessionMaxRequests: 6, latencyMs: 30, twoFactor: true },
    env: { BATCH_WEBHOOK_URL: hookUrl, BATCH_WEBHOOK_SECRET: 'webhook-signing-key-0123456789abcdef' },
  });
  const users = studentsWithCertificates(p.sandbox, 12);
  const { batchId } = await p.submit({ users: [...users, 999999] });
  await p.waitDone(batchId);
});
afterAll(async () => {
  await p?.close();
  await new Promise((r) => hook?.close(r));
});

describe('secrets never leave in plain text', () => {
  it('are absent from Redis (queues, job data, batch records, token store), logs and the board', async () => {
    // The live token pair, read back through the provider (the only way to decrypt it).
    const provider = await createTokenProvider({
      config: p.config,
      redis: p.redis,
      logger: createLogger({ level: 'silent' }),
    });
    const accessToken = await provider.getAccessToken();
    const secrets: Record<string, string> = {
      password: p.env.LMS_PASSWORD!,
      clientSecret: p.env.OAUTH_CLIENT_SECRET!,
      initialRefreshToken: p.env.OAUTH_REFRESH_TOKEN!,
      accessToken,
      secretsKey: p.env.SECRETS_KEY!,
      totpSecret: p.env.LMS_TOTP_SECRET!,
      webhookSecret: p.env.BATCH_WEBHOOK_SECRET!,
    };
    // The fleet's web session, read back through its sealed store (the only way to decrypt it).
    const session = await new SessionStore({
      redis: p.redis,
      box: SealedBox.fromSecret(p.config.secretsKey),
      host: p.config.lms.host,
      keyPrefix: p.config.queuePrefix,
    }).read();
    expect(session?.cookies.length).toBeGreaterThan(0);
    for (const c of session!.cookies) if (c.value.length >= 8) secrets[`cookie ${c.name}`] = c.value;
    for (const [name, value] of Object.entries(secrets)) expect(value.length, name).toBeGreaterThan(8);

    const board = await startBoardServer({
      queues: [p.queues.discover, p.queues.download],
      redis: p.redis,
      user: 'u',
      password: 'board-password-xyz',
      host: '127.0.0.1',
      port: 0,
      logger: createLogger({ level: 'silent' }),
    });
    const auth = { authorization: `Basic ${Buffer.from('u:board-password-xyz').toString('base64')}` };
    let boardText = '';
    try {
      for (const path of [
        'api/queues?activeQueue=discover&status=completed&page=1',
        'api/queues?activeQueue=discover&status=failed&page=1',
      ]) {
        const res = await fetch(`${board.url}${path}`, { headers: auth });
        expect(res.status).toBe(200);
        boardText += await res.text();
      }
    } finally {
      await board.close();
    }
    // The board really shows jobs (so the scan below looks at something).
    expect(boardText).toContain('"certificates"');
    expect(boardText).toContain('no LMS user with userId');

    const redisDump = await dumpRedis(p.redis, p.config.queuePrefix);
    expect(redisDump).toContain(':auth:'); // the token store is there...
    const logs = p.logs.join('');
    expect(logs.length).toBeGreaterThan(1000);
    // The finished batch was posted to the webhook (signed with the key, never carrying it).
    const webhookText = (
      await sleepUntil(() => (webhookBodies.length > 0 ? webhookBodies : undefined), 20_000)
    ).join('\n');
    expect(webhookText).toContain('batch.done');
    for (const [name, value] of Object.entries(secrets)) {
      expect(redisDump.includes(value), `${name} in Redis`).toBe(false); // ...but sealed
      expect(logs.includes(value), `${name} in logs`).toBe(false);
      expect(boardText.includes(value), `${name} in the board`).toBe(false);
      expect(webhookText.includes(value), `${name} in the webhook`).toBe(false);
    }
    // Session cookies never appear either.
    for (const text of [redisDump, logs, boardText]) expect(text).not.toMatch(/d2l(Secure)?SessionVal=/);
  });
});
