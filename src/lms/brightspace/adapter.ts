import type { WebSession } from '../../browser/index.ts';
import type { Certificate, LmsId } from '../../certificate/index.ts';
import type { Logger } from '../../log/index.ts';
import type { AccessTokenSource, LmsRequestObserver } from '../http-client.ts';
import { answersAtAll } from '../../http/answers-at-all.ts';
import type { PdfResponseFacts } from '../../pdf/index.ts';
import type { RateStateStore } from '../fleet-rate-state.ts';
import type { AwardEntry, LmsAdapter, UserDirectory } from '../ports.ts';
import { BrightspaceClient } from './client.ts';
import { OrgUnitNames } from './org-unit-names.ts';
import type { IssuedAward, ListAwardsOptions } from './types.ts';
import type { ApiVersions } from './versions.ts';

export interface BrightspaceAdapterOptions {
  lmsUrl: string;
  tokens: AccessTokenSource;
  /** The logged-in web session; absent with DOWNLOAD_STRATEGY=api or without a web login. */
  session: WebSession | undefined;
  logger: Logger;
  /** Default: the global fetch (for the reachability probe). */
  fetch?: typeof fetch;
  /** `LP_VERSION` / `BAS_VERSION`: versions that win over the negotiation. */
  versionOverrides?: Partial<ApiVersions>;
  /** The fleet's shared view of the LMS's request budget (see RateBudget). */
  rateState?: RateStateStore;
  /** Hears each API request (the worker's metrics). */
  observe?: LmsRequestObserver;
  /**
   * Give each certificate its org unit's name, asked of `lp` `orgstructure/(orgUnitId)` once per
   * org unit per process (BRIGHTSPACE_ORG_UNIT_NAMES). Default true.
   */
  orgUnitNames?: boolean;
}

/** The render URL Brightspace serves certificates at; it needs the web session's cookies. */
export const renderUrl = (lmsUrl: string, orgUnitId: LmsId, issuedId: LmsId): string =>
  `${lmsUrl}/d2l/awards/v1/${encodeURIComponent(orgUnitId)}/certificate/render/${encodeURIComponent(issuedId)}`;

/** Brightspace behind the processors' ports: the REST client for discovery, plus the two ways to a PDF. */
export function createBrightspaceAdapter(options: BrightspaceAdapterOptions): LmsAdapter & {
  client: BrightspaceClient;
  directory: UserDirectory;
} {
  const client = new BrightspaceClient({
    baseUrl: options.lmsUrl,
    tokens: options.tokens,
    logger: options.logger.child({ component: 'brightspace' }),
    ...(options.versionOverrides ? { versionOverrides: options.versionOverrides } : {}),
    ...(options.rateState ? { rateLimit: { shared: options.rateState } } : {}),
    ...(options.observe ? { observe: options.observe } : {}),
  });
  // Through the same client as the listing: the rate budget, token renewal and metrics apply.
  const names =
    options.orgUnitNames === false
      ? undefined
      : new OrgUnitNames({
          lookup: (orgUnitId) => client.getOrgUnitName(orgUnitId),
          logger: options.logger.child({ component: 'brightspace' }),
        });
  /** The missing-scope warning is said once per process, not once per certificate. */
  let scopeWarned = false;
  return {
    client,
    directory: {
      host: new URL(options.lmsUrl).host,
      async resolveUser(by, value) {
        const user = await client.resolveUser({ by, value });
        return { userId: user.userId, userName: user.userName };
      },
      async *listAllUserIds() {
        for await (const item of client.listUsers()) if (item.ok) yield item.value.userId;
      },
      listAwards: (userId, listing) => listBrightspaceAwards(client, names, userId, listing),
      reachable: () =>
        answersAtAll(`${options.lmsUrl}/d2l/api/versions/`, options.fetch ? { fetch: options.fetch } : {}),
    },
    fetcher: {
      async viaApi(certificate, sink): Promise<PdfResponseFacts | 'unsupported'> {
        const answer = await client.fetchCertificatePdf(certificate.issuedId, sink);
        if (answer.kind === 'pdf')
          return { contentType: answer.contentType, contentLength: answer.contentLength };
        if (answer.missingScope !== undefined && !scopeWarned) {
          scopeWarned = true;
          warnMissingScope(options.logger, answer.status, answer.missingScope);
        }
        return 'unsupported';
      },
      async viaBrowser(certificate, sink, log): Promise<PdfResponseFacts> {
        if (!options.session) throw new Error('no web session (LMS_USERNAME/LMS_PASSWORD not set)');
        return options.session.fetchPdf(
          renderUrl(options.lmsUrl, certificate.orgUnitId, certificate.issuedId),
          sink,
          log,
        );
      },
    },
  };
}

/** A user's awards as entries: expired ones left out when asked, certificates named after their org unit. */
async function* listBrightspaceAwards(
  client: BrightspaceClient,
  names: OrgUnitNames | undefined,
  userId: LmsId,
  listing: ListAwardsOptions = {},
): AsyncIterable<AwardEntry> {
  const now = new Date();
  for await (const item of client.listIssuedAwards(userId, listing)) {
    if (!item.ok) {
      yield { ok: false, ref: describeRaw(item.raw), code: item.error.code, reason: item.error.message };
      continue;
    }
    if (listing.includeExpired === false && expiredAt(item.value, now)) continue;
    const certificate = toCertificate(item.value);
    // Badges are counted and dropped by discovery: only a certificate is worth the lookup.
    if (names && item.value.awardType === 'certificate') {
      const orgUnitName = await names.name(item.value.orgUnitId);
      if (orgUnitName !== undefined) certificate.orgUnitName = orgUnitName;
    }
    yield { ok: true, kind: item.value.awardType, certificate };
  }
}

/** The bearer /pdf route lacks a scope: said once per process, not once per certificate. */
function warnMissingScope(logger: Logger, status: number, missingScope: string): void {
  logger.warn(
    { status, missingScope },
    `the bearer /pdf route answered 403 for want of the scope "${missingScope}": add it to the app's ` +
      'registration (and OAUTH_SCOPE), then `certharvest auth bootstrap`; downloading through the web session meanwhile',
  );
}

/**
 * An award whose `ExpiryDate` has passed. Asked to leave expired awards out, the adapter also
 * drops them itself: `includeExpired` is known only from third-party code (reference §1.2,
 * [V-3p]), and a tenant that ignores it must not hand them over anyway [I].
 */
function expiredAt(award: IssuedAward, now: Date): boolean {
  return award.expiryDate !== null && award.expiryDate.getTime() <= now.getTime();
}

function toCertificate(award: IssuedAward): Certificate {
  return {
    userId: award.userId,
    issuedId: award.issuedId,
    orgUnitId: award.orgUnitId,
    awardId: award.awardId,
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
