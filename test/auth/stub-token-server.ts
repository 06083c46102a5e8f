import { createHash, randomBytes, verify, type KeyObject } from 'node:crypto';
import { delay, sendJson, startStub, type SeenRequest } from '../lms/stub-http.ts';

/** A grant the stub answered, as the tests inspect it. */
export interface SeenGrant {
  grantType: string;
  form: URLSearchParams;
  basic?: { id: string; secret: string };
  outcome: 'issued' | 'refused';
}

export interface StubTokenServerOptions {
  clientId?: string;
  clientSecret?: string;
  /** Public key that verifies private-key-JWT client assertions (RS256). */
  assertionKey?: KeyObject;
  assertionKid?: string;
}

/**
 * A small OAuth2 token endpoint with one-use rotating refresh tokens, like Brightspace's: a
 * replayed refresh token gets `400 invalid_grant`. Knobs for lifetime, latency and failures.
 */
export class StubTokenServer {
  readonly clientId: string;
  readonly clientSecret: string;
  grants: SeenGrant[] = [];
  accessTtlSec = 3600;
  /** Latency added to every token response. */
  delayMs = 0;
  /** Answer the next N requests with this status (a plain-text 5xx unless `failBody`). */
  failNext: { count: number; status: number; body?: unknown } | undefined;
  /** Runs before a refresh grant is answered (to simulate another process acting meanwhile). */
  beforeRefresh: ((refreshToken: string) => Promise<void>) | undefined;
  readonly #live = new Set<string>();
  readonly #codes = new Map<string, { challenge: string; redirectUri: string }>();
  readonly #options: StubTokenServerOptions;
  #origin = '';
  #close: () => Promise<void> = async () => {};

  private constructor(options: StubTokenServerOptions) {
    this.clientId = options.clientId ?? 'client-1';
    this.clientSecret = options.clientSecret ?? 'client-secret-XYZ';
    this.#options = options;
  }

  static async start(options: StubTokenServerOptions = {}): Promise<StubTokenServer> {
    const stub = new StubTokenServer(options);
    const server = await startStub((req, res) => stub.#handle(req, res));
    stub.#origin = server.origin;
    stub.#close = server.close;
    return stub;
  }

  get tokenUrl(): string {
    return `${this.#origin}/core/connect/token`;
  }

  get authorizeUrl(): string {
    return `${this.#origin}/oauth2/auth`;
  }

  /** A refresh token as an admin's first sign-in would produce it. */
  mintRefreshToken(): string {
    const token = `rt-${randomBytes(12).toString('hex')}`;
    this.#live.add(token);
    return token;
  }

  /** Kill a refresh token as if someone else had used it. */
  revoke(refreshToken: string): void {
    this.#live.delete(refreshToken);
  }

  /** Register an authorization code as the authorize endpoint would after consent. */
  mintCode(codeChallenge: string, redirectUri: string): string {
    const code = `code-${randomBytes(8).toString('hex')}`;
    this.#codes.set(code, { challenge: codeChallenge, redirectUri });
    return code;
  }

  count(grantType: string, outcome: SeenGrant['outcome'] = 'issued'): number {
    return this.grants.filter((g) => g.grantType === grantType && g.outcome === outcome).length;
  }

  close(): Promise<void> {
    return this.#close();
  }

  async #handle(req: SeenRequest, res: import('node:http').ServerResponse): Promise<void> {
    if (req.method !== 'POST' || !req.url.startsWith('/core/connect/token')) {
      return sendJson(res, 404, { error: 'not_found' });
    }
    if (this.failNext && this.failNext.count > 0) {
      this.failNext.count--;
      const { status, body } = this.failNext;
      if (body !== undefined) return sendJson(res, status, body);
      res.writeHead(status, { 'content-type': 'text/plain' });
      return void res.end('upstream trouble');
    }
    await delay(this.delayMs);
    const form = new URLSearchParams(req.body);
    const grantType = form.get('grant_type') ?? '';
    const basic = parseBasic(req.headers.authorization);
    const grant: SeenGrant = { grantType, form, ...(basic ? { basic } : {}), outcome: 'refused' };
    this.grants.push(grant);

    const clientError = this.#checkClient(form, basic);
    if (clientError) return sendJson(res, 401, { error: 'invalid_client', error_description: clientError });

    if (grantType === 'refresh_token') {
      const token = form.get('refresh_token') ?? '';
      if (this.beforeRefresh) await this.beforeRefresh(token);
      if (!this.#live.delete(token)) return sendJson(res, 400, { error: 'invalid_grant' });
      grant.outcome = 'issued';
      return sendJson(res, 200, this.#pair(form.get('scope')));
    }
    if (grantType === 'client_credentials') {
      grant.outcome = 'issued';
      return sendJson(res, 200, {
        access_token: `at-${randomBytes(12).toString('hex')}`,
        token_type: 'Bearer',
        expires_in: this.accessTtlSec,
        scope: form.get('scope') ?? '',
      });
    }
    if (grantType === 'authorization_code') {
      const code = this.#codes.get(form.get('code') ?? '');
      this.#codes.delete(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (!code || code.challenge !== challenge || code.redirectUri !== form.get('redirect_uri')) {
        return sendJson(res, 400, { error: 'invalid_grant' });
      }
      grant.outcome = 'issued';
      return sendJson(res, 200, this.#pair('core:*:*'));
    }
    return sendJson(res, 400, { error: 'unsupported_grant_type' });
  }

  #pair(scope: string | null) {
    return {
      access_token: `at-${randomBytes(12).toString('hex')}`,
      refresh_token: this.mintRefreshToken(),
      token_type: 'Bearer',
      expires_in: this.accessTtlSec,
      scope: scope ?? '',
    };
  }

  #checkClient(form: URLSearchParams, basic: { id: string; secret: string } | undefined): string | undefined {
    const assertion = form.get('client_assertion');
    if (assertion) {
      const key = this.#options.assertionKey;
      if (!key) return 'client assertions are not accepted';
      return checkAssertion(assertion, key, this.clientId, this.tokenUrl, this.#options.assertionKid);
    }
    if (!basic) return 'missing HTTP Basic client authentication';
    if (basic.id !== this.clientId || basic.secret !== this.clientSecret) return 'bad client id or secret';
    return undefined;
  }
}

function parseBasic(header: string | undefined): { id: string; secret: string } | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
  return {
    id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
    secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
  };
}

function checkAssertion(
  jwt: string,
  key: KeyObject,
  clientId: string,
  audience: string,
  kid: string | undefined,
): string | undefined {
  const [h, p, s] = jwt.split('.');
  if (!h || !p || !s) return 'malformed assertion';
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  if (header.alg !== 'RS256') return `unexpected alg ${String(header.alg)}`;
  if (kid !== undefined && header.kid !== kid) return `unexpected kid ${String(header.kid)}`;
  if (!verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) {
    return 'bad signature';
  }
  if (payload.iss !== clientId || payload.sub !== clientId) return 'bad iss/sub';
  if (payload.aud !== audience) return `bad aud ${String(payload.aud)}`;
  if (typeof payload.exp !== 'number' || payload.exp * 1000 < Date.now()) return 'expired assertion';
  return undefined;
}
