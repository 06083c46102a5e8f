/**
 * A third LMS, defined outside the product: one folder (this one) and one registry line in the
 * test. It has its own variable (THIRD_PAGE_SIZE), token quirks, web profile and adapter; the
 * worker, config and doctor take it without knowing its name.
 */
import { z } from 'zod';
import type { WebProfile } from '../../../src/browser/index.ts';
import type { Certificate } from '../../../src/certificate/index.ts';
import { UserNotFoundError } from '../../../src/lms/errors.ts';
import { defineLmsModule, type AdapterContext, type LmsAdapterHandle } from '../../../src/lms/module.ts';
import type { AwardEntry } from '../../../src/lms/ports.ts';
import { drainInto, type PdfSink } from '../../../src/pdf/index.ts';

const THIRD_WEB_PROFILE: WebProfile = {
  loginPath: '/login',
  landingPath: '/home',
  selectors: { username: '#user', password: '#pass', submit: '#go' },
  loggedOutPaths: [/^\/login\b/],
  loginFailedUrls: [/[?&]error=/],
  extend: { method: 'GET', path: '/home' },
};

export const thirdLmsModule = defineLmsModule({
  kind: 'third',
  title: 'Third LMS',
  exampleUrl: 'https://third.example.edu',
  env: z.object({
    LMS: z.literal('third'),
    THIRD_PAGE_SIZE: z.string().regex(/^\d+$/, 'expected a whole number').transform(Number).default(50),
  }),
  token: {
    defaultMode: 'client-credentials',
    tokenUrl: (url) => `${url}/oauth/token`,
    authorizeUrl: (url) => `${url}/oauth/authorize`,
    scope: () => 'awards',
    clientCredentials: 'client-secret',
    basicEncoding: 'raw',
  },
  webProfile: THIRD_WEB_PROFILE,
  configure(env) {
    const pageSize = env.THIRD_PAGE_SIZE;
    return {
      kind: 'third',
      title: 'Third LMS',
      webProfile: THIRD_WEB_PROFILE,
      discoversWithSession: false,
      consent: undefined,
      summary: { THIRD_PAGE_SIZE: String(pageSize) },
      createAdapter: async (context) => thirdAdapter(context),
      inspect: async () => ({ matched: false, lines: ['the third LMS has nothing to inspect'], data: {} }),
      unsupportedFilters: (filters) =>
        filters.includeExpired === false ? ['includeExpired: false: the third LMS has no expiry'] : [],
      doctorChecks: async () => [],
    };
  },
});

function thirdAdapter(context: AdapterContext): LmsAdapterHandle {
  const get = async (path: string) => {
    const token = await context.tokens.getAccessToken();
    return fetch(`${context.lmsUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  };
  return {
    throttledAnswers: () => 0,
    directory: {
      host: new URL(context.lmsUrl).host,
      async resolveUser(by, value) {
        if (by !== 'userId') throw new UserNotFoundError(by, value);
        return { userId: value };
      },
      async *listAllUserIds() {
        const people = (await (await get('/api/people')).json()) as { id: string }[];
        for (const p of people) yield p.id;
      },
      async *listAwards(userId): AsyncIterable<AwardEntry> {
        const res = await get(`/api/people/${encodeURIComponent(String(userId))}/awards`);
        if (res.status === 404) throw new UserNotFoundError('userId', String(userId));
        const awards = (await res.json()) as { id: string; course: string; name: string; date: string }[];
        for (const a of awards) {
          const certificate: Certificate = {
            userId,
            orgUnitId: a.course,
            issuedId: a.id,
            awardId: a.id,
            title: a.name,
            issuedDate: a.date.replace(/Z$/, '.000Z'),
          };
          yield { ok: true, kind: 'certificate', certificate };
        }
      },
      async reachable() {
        return fetch(context.lmsUrl).then(
          () => true,
          () => false,
        );
      },
    },
    fetcher: {
      async viaApi(certificate, sink: PdfSink) {
        const res = await get(`/api/awards/${encodeURIComponent(String(certificate.issuedId))}.pdf`);
        if (!res.ok || !res.body) throw new Error(`the PDF answered ${res.status}`);
        await drainInto((res.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator](), sink, {
          maxBytes: 10_000_000,
          tooLarge: () => new Error('too large'),
          readFailed: (err) => (err instanceof Error ? err : new Error(String(err))),
        });
        return { contentType: res.headers.get('content-type') ?? undefined };
      },
      async viaBrowser() {
        throw new Error('the third LMS serves certificates through its API only');
      },
    },
  };
}
