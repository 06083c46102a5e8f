import type { PdfSink } from '../../pdf/index.ts';
import { withComponent, type Logger } from '../../log/index.ts';
import { AmbiguousUserError, LmsDataError, LmsRequestError, UserNotFoundError } from '../errors.ts';
import { LmsHttpClient, type LmsHttpClientOptions } from '../http-client.ts';
import { parseLms } from '../parse.ts';
import {
  issuedAwardSchema,
  objectListPageSchema,
  orgUnitSchema,
  pagedResultSetSchema,
  userDataSchema,
  versionsSchema,
  whoAmISchema,
} from './schemas.ts';
import type {
  BrightspaceUser,
  CertificatePdf,
  IssuedAward,
  ItemResult,
  ListAwardsOptions,
  OrgUnitNameAnswer,
  UserReference,
  WhoAmI,
} from './types.ts';
import { certificatePdfOf, missingScope } from './pdf-answer.ts';
import { checkedText, parseItem } from '../listing-item.ts';
import { toId, toIssuedAward, toUser, withIncludeExpired } from './valence-records.ts';
import { pickVersions, type ApiVersions } from './versions.ts';

export interface BrightspaceClientOptions extends LmsHttpClientOptions {
  /** Use these versions instead of asking `/d2l/api/versions/`. */
  versions?: ApiVersions;
  /** Versions an operator set (`LP_VERSION`, `BAS_VERSION`): they win over the negotiation. */
  versionOverrides?: Partial<ApiVersions>;
  /** Timeout of a PDF download. Default 60 000 ms. */
  pdfTimeoutMs?: number;
  /** Largest PDF accepted. Default 50 MiB. */
  maxPdfBytes?: number;
  /** Awards per page asked for (`limit`); 0 sends none (the LMS's default). Default 200. */
  awardsPageLimit?: number;
}

/**
 * The largest `limit` of the issued-awards listing we ask for: [I] 200 is the usual ceiling of
 * Valence's limit/offset lists (reference §1.2); a tenant that answers 400 is asked without it.
 */
export const AWARDS_PAGE_LIMIT = 200;

/**
 * Timeout of an org unit lookup: the name is optional, and a listing waits for it, so a slow
 * answer gives up sooner than the 30 s of other routes.
 */
const ORG_UNIT_TIMEOUT_MS = 10_000;

/**
 * The Valence routes certharvest uses: versions, users, issued awards, org unit names, certificate PDFs. All
 * JSON goes through zod; rate limits, 401 and 429 are handled by LmsHttpClient.
 */
export class BrightspaceClient {
  readonly #http: LmsHttpClient;
  readonly #pdfTimeoutMs: number;
  readonly #maxPdfBytes: number;
  #versions: Promise<ApiVersions> | undefined;
  readonly #overrides: Partial<ApiVersions>;
  readonly #logger: Logger;
  /** `limit` of the awards listing; undefined once the tenant refused it (or when set to 0). */
  #awardsPageLimit: number | undefined;

  constructor(options: BrightspaceClientOptions) {
    const { versions, versionOverrides, pdfTimeoutMs, maxPdfBytes, awardsPageLimit, logger, ...http } =
      options;
    this.#awardsPageLimit = awardsPageLimit === undefined ? AWARDS_PAGE_LIMIT : awardsPageLimit || undefined;
    this.#overrides = versionOverrides ?? {};
    this.#logger = logger;
    this.#http = new LmsHttpClient({ ...http, logger: withComponent(logger, 'brightspace') });
    this.#pdfTimeoutMs = pdfTimeoutMs ?? 60_000;
    this.#maxPdfBytes = maxPdfBytes ?? 50 * 1024 * 1024;
    if (versions) this.#versions = Promise.resolve(versions);
  }

  /** 429 answers (rate limited) this client got from the LMS. */
  get throttledAnswers(): number {
    return this.#http.budget.throttled;
  }

  /**
   * The `lp` and `bas` versions to call (see `pickVersions`): asked once, then cached; what the
   * choice needs an operator to know is logged once, as a warning.
   */
  negotiateVersions(): Promise<ApiVersions> {
    this.#versions ??= (async () => {
      const url = this.#url('/d2l/api/versions/');
      const route = `GET ${url.pathname}`;
      const picked = pickVersions(parseLms(versionsSchema, await this.#getJson(url), route), this.#overrides);
      for (const warning of picked.warnings) this.#logger.warn({ versions: picked.versions }, warning);
      return picked.versions;
    })().catch((error: unknown) => {
      this.#versions = undefined; // a failed negotiation is asked again next time
      throw error;
    });
    return this.#versions;
  }

  async whoami(): Promise<WhoAmI> {
    const { lp } = await this.negotiateVersions();
    const url = this.#url(`/d2l/api/lp/${lp}/users/whoami`);
    const me = parseLms(whoAmISchema, await this.#getJson(url), `GET ${url.pathname}`);
    return {
      userId: me.Identifier,
      firstName: me.FirstName,
      lastName: me.LastName,
      uniqueName: me.UniqueName,
    };
  }

  async getUser(userId: number | string): Promise<BrightspaceUser> {
    const id = toId(userId, 'user id');
    const { lp } = await this.negotiateVersions();
    const url = this.#url(`/d2l/api/lp/${lp}/users/${id}`);
    const body = await this.#getJson(url, (status) =>
      status === 404 ? new UserNotFoundError('userId', String(id)) : undefined,
    );
    return toUser(parseLms(userDataSchema, body, `GET ${url.pathname}`));
  }

  /** `users/?userName=` answers a single object. */
  async findUserByUserName(userName: string): Promise<BrightspaceUser> {
    const name = checkedText(userName, 'userName');
    const { lp } = await this.negotiateVersions();
    const url = this.#url(`/d2l/api/lp/${lp}/users/`);
    url.searchParams.set('userName', name);
    const body = await this.#getJson(url, (status) =>
      status === 404 ? new UserNotFoundError('userName', name) : undefined,
    );
    return toUser(parseLms(userDataSchema, body, `GET ${url.pathname}?userName`));
  }

  /** `users/?orgDefinedId=` answers an array: none is "not found", several are ambiguous. */
  async findUserByOrgDefinedId(orgDefinedId: string): Promise<BrightspaceUser> {
    const value = checkedText(orgDefinedId, 'orgDefinedId');
    const { lp } = await this.negotiateVersions();
    const url = this.#url(`/d2l/api/lp/${lp}/users/`);
    url.searchParams.set('orgDefinedId', value);
    const route = `GET ${url.pathname}?orgDefinedId`;
    const body = await this.#getJson(url, (status) =>
      status === 404 ? new UserNotFoundError('orgDefinedId', value) : undefined,
    );
    const users = parseLms(userDataSchema.array(), body, route).map(toUser);
    if (users.length === 0) throw new UserNotFoundError('orgDefinedId', value);
    if (users.length > 1) {
      throw new AmbiguousUserError(
        'orgDefinedId',
        value,
        users.map((u) => u.userId),
      );
    }
    return users[0]!;
  }

  /** Resolve any user reference of a batch. */
  resolveUser(reference: UserReference): Promise<BrightspaceUser> {
    switch (reference.by) {
      case 'userId':
        return this.getUser(reference.value);
      case 'userName':
        return this.findUserByUserName(reference.value);
      case 'orgDefinedId':
        return this.findUserByOrgDefinedId(reference.value);
    }
  }

  /** Every user of the institution, following `PagingInfo.Bookmark`. */
  async *listUsers(): AsyncGenerator<ItemResult<BrightspaceUser>, void, undefined> {
    const { lp } = await this.negotiateVersions();
    const seen = new Set<string>();
    let bookmark: string | undefined;
    for (;;) {
      const url = this.#url(`/d2l/api/lp/${lp}/users/`);
      if (bookmark !== undefined) url.searchParams.set('bookmark', bookmark);
      const route = `GET ${url.pathname}`;
      const page = parseLms(pagedResultSetSchema, await this.#getJson(url), route);
      for (const [i, raw] of page.Items.entries()) {
        const user = parseItem(userDataSchema, raw, route, `Items[${i}]`, toUser);
        // Whoever consumes the listing may only count the refusal: the reason is said here.
        if (!user.ok) this.#logger.warn({ code: user.error.code }, `skipping a user: ${user.error.message}`);
        yield user;
      }
      if (!page.PagingInfo.HasMoreItems) return;
      const next = page.PagingInfo.Bookmark;
      if (!next || seen.has(next)) {
        throw new LmsDataError(
          route,
          'PagingInfo.Bookmark',
          'HasMoreItems is true but the bookmark is missing or repeats',
        );
      }
      seen.add(next);
      bookmark = next;
    }
  }

  /**
   * Every award issued to `userId`, following `Next` until it is null; expired ones too unless
   * `options.includeExpired` is false.
   */
  async *listIssuedAwards(
    userId: number | string,
    options: ListAwardsOptions = {},
  ): AsyncGenerator<ItemResult<IssuedAward>, void, undefined> {
    const id = toId(userId, 'user id');
    const includeExpired = options.includeExpired ?? true;
    const { bas } = await this.negotiateVersions();
    const seen = new Set<string>();
    let url = withIncludeExpired(this.#url(`/d2l/api/bas/${bas}/issued/users/${id}/`), includeExpired);
    let first = true;
    for (;;) {
      const route = `GET ${url.pathname}`;
      // The largest pages the LMS gives (fewer calls per user); a tenant that refuses the size is
      // asked without it from then on.
      const sized = first && this.#awardsPageLimit !== undefined;
      if (sized) url.searchParams.set('limit', String(this.#awardsPageLimit));
      let pageLimitRefused = false;
      const body = await this.#getJson(url, (status) => {
        if (status === 404) return new UserNotFoundError('userId', String(id));
        if (status === 400 && sized) pageLimitRefused = true;
        return undefined;
      }).catch((err: unknown) => {
        if (!pageLimitRefused) throw err;
        return undefined;
      });
      if (pageLimitRefused) {
        this.#logger.warn(
          { limit: this.#awardsPageLimit },
          `${route}: the LMS refused limit=${this.#awardsPageLimit}; asking with its default page size from now on`,
        );
        this.#awardsPageLimit = undefined;
        url.searchParams.delete('limit');
        continue;
      }
      first = false;
      const page = parseLms(objectListPageSchema, body, route);
      for (const [i, raw] of page.Objects.entries()) {
        yield parseItem(issuedAwardSchema, raw, route, `Objects[${i}]`, (a) => toIssuedAward(a, id));
      }
      if (!page.Next) return;
      const next = withIncludeExpired(this.#http.resolve(page.Next, route, 'Next'), includeExpired);
      if (!next.pathname.startsWith('/d2l/api/') || seen.has(next.href)) {
        throw new LmsDataError(
          route,
          'Next',
          `refusing to follow ${JSON.stringify(next.pathname)}: not an API page, or a repeat`,
        );
      }
      seen.add(next.href);
      url = next;
    }
  }

  /** All issued awards of a user at once: the good ones, and the ones that did not parse. */
  async getIssuedAwards(
    userId: number | string,
    options: ListAwardsOptions = {},
  ): Promise<{ awards: IssuedAward[]; invalid: Extract<ItemResult<IssuedAward>, { ok: false }>[] }> {
    const awards: IssuedAward[] = [];
    const invalid: Extract<ItemResult<IssuedAward>, { ok: false }>[] = [];
    for await (const result of this.listIssuedAwards(userId, options)) {
      if (result.ok) awards.push(result.value);
      else invalid.push(result);
    }
    return { awards, invalid };
  }

  /** The certificate PDF through the bearer API route, where the tenant has it; its body goes to `sink`. */
  async fetchCertificatePdf(issuedId: number | string, sink: PdfSink): Promise<CertificatePdf> {
    const id = toId(issuedId, 'issued id');
    const { bas } = await this.negotiateVersions();
    const url = this.#url(`/d2l/api/bas/${bas}/issued/certificates/${id}/pdf`);
    const route = `GET ${url.pathname}`;
    const response = await this.#http.get(url, route, {
      accept: 'application/pdf',
      timeoutMs: this.#pdfTimeoutMs,
      passStatuses: [501],
    });
    return certificatePdfOf(this.#http, response, route, sink, this.#maxPdfBytes);
  }

  /**
   * An org unit's name (`lp` `orgstructure/(orgUnitId)`, `OrgUnit.OrgUnit`). A 404 and a 403 are
   * answers (the 403 naming the scope when the body says "Required: x"); any other status, a
   * timeout or a body that is not an OrgUnit of this id throws.
   */
  async getOrgUnitName(orgUnitId: number | string): Promise<OrgUnitNameAnswer> {
    const id = toId(orgUnitId, 'org unit id');
    const { lp } = await this.negotiateVersions();
    const url = this.#url(`/d2l/api/lp/${lp}/orgstructure/${id}`);
    const route = `GET ${url.pathname}`;
    const response = await this.#http.get(url, route, { timeoutMs: ORG_UNIT_TIMEOUT_MS });
    const { status } = response;
    if (status === 403) {
      const scope = await missingScope(this.#http, response, route);
      return { kind: 'forbidden', ...(scope ? { missingScope: scope } : {}) };
    }
    if (!response.ok) {
      await response.discard();
      if (status === 404) return { kind: 'not-found' };
      throw new LmsRequestError(`${route}: the LMS answered ${status}`, status);
    }
    const unit = parseLms(orgUnitSchema, await this.#http.json(response, route, 64 * 1024), route);
    if (unit.Identifier !== id) {
      throw new LmsDataError(route, 'Identifier', `asked for org unit ${id}, got ${unit.Identifier}`);
    }
    return { kind: 'found', name: unit.Name };
  }

  #url(path: string): URL {
    return new URL(path, this.#http.base);
  }

  /** GET JSON; a non-2xx becomes `onError(status)` or a LmsRequestError naming the route. */
  async #getJson(url: URL, onError?: (status: number) => Error | undefined): Promise<unknown> {
    const route = `GET ${url.pathname}`;
    const response = await this.#http.get(url, route);
    if (response.ok) return this.#http.json(response, route);
    await response.discard();
    const { status } = response;
    const error = onError?.(status);
    if (error) throw error;
    const why =
      status === 403
        ? " (the service user's role or the app's scopes do not allow this route)"
        : status >= 300 && status < 400
          ? ` (redirected to ${response.headers.get('location') ?? '?'})`
          : '';
    throw new LmsRequestError(`${route}: the LMS answered ${status}${why}`, status);
  }
}

export { certificatesOnly, isCertificate } from './valence-records.ts';
