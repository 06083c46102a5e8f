import type { ServerResponse } from 'node:http';
import { createLogger } from '../../src/log/index.ts';
import { BrightspaceClient, type BrightspaceClientOptions } from '../../src/lms/brightspace/index.ts';
import { captureLogger } from '../auth/harness.ts';
import { sendJson, startStub, type SeenRequest, type StubServer } from './stub-http.ts';

export const VERSIONS = [
  { ProductCode: 'lp', LatestVersion: '1.60', SupportedVersions: ['1.26', '1.45', '1.53', '1.54', '1.60'] },
  { ProductCode: 'le', LatestVersion: '1.94', SupportedVersions: ['1.94'] },
  { ProductCode: 'bas', LatestVersion: '1.5', SupportedVersions: ['1.0', '1.1', '1.4', '1.5'] },
];

export type Route = (req: SeenRequest, res: ServerResponse, url: URL) => void | Promise<void>;

/**
 * A stub Brightspace: `routes` maps "GET /path" (no query) to a handler; `/d2l/api/versions/`
 * answers VERSIONS unless overridden. Unknown routes get Valence's 404 body.
 */
export async function startValence(routes: Record<string, Route>): Promise<StubServer> {
  return startStub(async (req, res) => {
    const url = new URL(req.url, 'http://stub');
    const handler = routes[`${req.method} ${url.pathname}`];
    if (handler) return handler(req, res, url);
    if (url.pathname === '/d2l/api/versions/') return sendJson(res, 200, VERSIONS);
    return sendJson(res, 404, { Errors: [{ Message: 'Resource Not Found' }] });
  });
}

/** A token source for unit tests: hands out t1, then t2 after an invalidate, and so on. */
export class FakeTokens {
  #n = 1;
  invalidated: string[] = [];
  async getAccessToken(): Promise<string> {
    return `token-${this.#n}-secret`;
  }
  invalidate(token?: string): void {
    this.invalidated.push(token ?? '(none)');
    this.#n++;
  }
}

export function client(
  server: StubServer,
  options: Partial<BrightspaceClientOptions> = {},
): { client: BrightspaceClient; tokens: FakeTokens; logLines: string[] } {
  const tokens = new FakeTokens();
  const { logger, lines } = options.logger ? { logger: options.logger, lines: [] } : captureLogger();
  return {
    client: new BrightspaceClient({ baseUrl: server.origin, tokens, logger, ...options }),
    tokens,
    logLines: lines,
  };
}

export const silentLogger = () => createLogger({ level: 'silent' });

/** A Valence UserData object. */
export const userData = (id: number | string, extra: Record<string, unknown> = {}) => ({
  OrgId: 6606,
  UserId: id,
  FirstName: 'Ada',
  MiddleName: null,
  LastName: `Lovelace${id}`,
  UserName: `ada${id}`,
  ExternalEmail: null,
  OrgDefinedId: `S${id}`,
  UniqueIdentifier: `ada${id}`,
  Activation: { IsActive: true },
  ...extra,
});

/** A Valence IssuedAward object. */
export const issued = (
  issuedId: number | string,
  awardType: number | string = 2,
  extra: Record<string, unknown> = {},
) => ({
  IssuedId: issuedId,
  OrgUnitId: 6609,
  IssuedDate: 'U2026-05-13T20:01:00.827',
  ExpiryDate: null,
  IssuedBy: 'Instructor',
  Credit: null,
  Award: {
    AwardId: 77,
    Title: `Award ${issuedId}`,
    Description: '',
    AwardType: awardType,
    CertificateData: null,
  },
  ...extra,
});
