import type { AccessTokenSource } from '../lms/index.ts';
import type { WebSession } from '../browser/index.ts';
import type { Logger } from '../log/index.ts';
import { BrightspaceClient, type IssuedAward } from '../lms/index.ts';
import type { UserRefKind } from '../queue/index.ts';
import type { AwardEntry, CertificateFetcher, PdfBody, UserDirectory } from './ports.ts';

export interface BrightspacePortsOptions {
  lmsUrl: string;
  tokens: AccessTokenSource;
  /** The logged-in browser session; absent with DOWNLOAD_STRATEGY=api. */
  session: WebSession | undefined;
  logger: Logger;
}

/** The render URL Brightspace serves certificates at; it needs the web session's cookies. */
export const renderUrl = (lmsUrl: string, orgUnitId: number, issuedId: number): string =>
  `${lmsUrl}/d2l/awards/v1/${orgUnitId}/certificate/render/${issuedId}`;

/** Brightspace behind the processors' ports: the REST client for discovery, plus the two ways to a PDF. */
export function createBrightspacePorts(options: BrightspacePortsOptions): {
  directory: UserDirectory;
  fetcher: CertificateFetcher;
  client: BrightspaceClient;
} {
  const client = new BrightspaceClient({
    baseUrl: options.lmsUrl,
    tokens: options.tokens,
    logger: options.logger.child({ component: 'brightspace' }),
  });
  const directory: UserDirectory = {
    host: new URL(options.lmsUrl).host,
    async resolveUser(by: UserRefKind, value: string) {
      const user = await client.resolveUser({ by, value });
      return { userId: user.userId };
    },
    async *listAllUserIds() {
      for await (const item of client.listUsers()) if (item.ok) yield item.value.userId;
    },
    async *listAwards(userId: number): AsyncIterable<AwardEntry> {
      for await (const item of client.listIssuedAwards(userId)) {
        if (item.ok) yield { ok: true, award: toFacts(item.value) };
        else
          yield { ok: false, ref: describeRaw(item.raw), code: item.error.code, reason: item.error.message };
      }
    },
  };
  const fetcher: CertificateFetcher = {
    async viaApi(issuedId: number): Promise<PdfBody | 'unsupported'> {
      const answer = await client.fetchCertificatePdf(issuedId);
      if (answer.kind === 'unsupported') return 'unsupported';
      return { bytes: answer.bytes, contentType: answer.contentType, contentLength: answer.contentLength };
    },
    async viaBrowser(orgUnitId: number, issuedId: number, log: (line: string) => void): Promise<PdfBody> {
      if (!options.session) throw new Error('no browser session (LMS_USERNAME/LMS_PASSWORD not set)');
      return options.session.fetchPdf(renderUrl(options.lmsUrl, orgUnitId, issuedId), log);
    },
  };
  return { directory, fetcher, client };
}

function toFacts(award: IssuedAward) {
  return {
    issuedId: award.issuedId,
    orgUnitId: award.orgUnitId,
    awardId: award.awardId,
    kind: award.awardType,
    title: award.title,
    issuedDate: award.issuedDate ? award.issuedDate.toISOString() : null,
  };
}

/** A short, safe label for an award the LMS sent in a shape we refuse. */
function describeRaw(raw: unknown): string {
  const r = raw as { OrgUnitId?: unknown; IssuedId?: unknown } | null;
  const label = `${JSON.stringify(r?.OrgUnitId ?? '?')}-${JSON.stringify(r?.IssuedId ?? '?')}`;
  return label.slice(0, 120);
}
