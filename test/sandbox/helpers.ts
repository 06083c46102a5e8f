import { createHash, randomBytes } from 'node:crypto';
import type { Sandbox } from '@certharvest/sandbox';

/** A minimal cookie jar for plain `fetch`: keeps name=value pairs, ignores paths and expiry. */
export class CookieJar {
  readonly cookies = new Map<string, string>();

  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

export const basicAuth = (sb: Sandbox): string =>
  'Basic ' + Buffer.from(`${sb.env.OAUTH_CLIENT_ID}:${sb.env.OAUTH_CLIENT_SECRET}`).toString('base64');

export interface TokenAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** POST the token endpoint as Brightspace clients do: form body, Basic client auth. */
export async function tokenRequest(sb: Sandbox, params: Record<string, string>, auth = basicAuth(sb)) {
  const res = await fetch(sb.env.OAUTH_TOKEN_URL, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> } satisfies TokenAnswer;
}

export const refresh = (sb: Sandbox, refreshToken: string) =>
  tokenRequest(sb, { grant_type: 'refresh_token', refresh_token: refreshToken, scope: sb.env.OAUTH_SCOPE });

/** A working access token on a grant of its own. */
export async function accessToken(sb: Sandbox): Promise<string> {
  const answer = await refresh(sb, await sb.issueRefreshToken());
  if (answer.status !== 200) throw new Error(`refresh failed: ${JSON.stringify(answer.body)}`);
  return answer.body.access_token as string;
}

/** GET a Valence route with a bearer token (or none). */
export function api(sb: Sandbox, pathOrUrl: string, token?: string): Promise<Response> {
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${sb.url}${pathOrUrl}`;
  return fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

export async function json<T = unknown>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

/** Post the web login form; returns the response (not followed) and the jar holding the cookies. */
export async function webLogin(
  sb: Sandbox,
  options: { password?: string; target?: string; jar?: CookieJar } = {},
): Promise<{ res: Response; jar: CookieJar }> {
  const jar = options.jar ?? new CookieJar();
  const form = new URLSearchParams({
    d2l_referrer: '',
    noredirect: '1',
    loginPath: '/d2l/lp/auth/login/login.d2l',
    userName: sb.env.LMS_USERNAME,
    password: options.password ?? sb.env.LMS_PASSWORD,
    ...(options.target ? { target: options.target } : {}),
  });
  const res = await fetch(`${sb.url}/d2l/lp/auth/login/login.d2l`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
    body: form,
    redirect: 'manual',
  });
  jar.store(res);
  return { res, jar };
}

/** GET a web page with the jar's cookies, without following redirects. */
export async function webGet(sb: Sandbox, path: string, jar?: CookieJar): Promise<Response> {
  const res = await fetch(path.startsWith('http') ? path : `${sb.url}${path}`, {
    headers: jar ? { cookie: jar.header() } : {},
    redirect: 'manual',
  });
  jar?.store(res);
  return res;
}

export function renderPath(award: { OrgUnitId: number; IssuedId: number }): string {
  return `/d2l/awards/v1/${award.OrgUnitId}/certificate/render/${award.IssuedId}`;
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A student with at least one certificate, and one of those certificates. */
export function someCertificate(sb: Sandbox) {
  const award = sb.institution.certificates()[0];
  if (!award) throw new Error('the sandbox has no certificates');
  return award;
}

/** POST a urlencoded form with the jar's cookies, without following redirects. */
export async function webPost(
  sb: Sandbox,
  path: string,
  fields: Record<string, string>,
  jar?: CookieJar,
): Promise<Response> {
  const res = await fetch(`${sb.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(jar ? { cookie: jar.header() } : {}),
    },
    body: new URLSearchParams(fields),
    redirect: 'manual',
  });
  jar?.store(res);
  return res;
}
