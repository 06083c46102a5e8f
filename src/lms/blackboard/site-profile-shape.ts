/**
 * The site profile's types: what a profile says about a Learn site's pages once it is read
 * (site-profile-load.ts) and checked (site-profile-schema.ts).
 */
import { ConfigError } from '../../errors/index.ts';

/** Where a field's value comes from, on the element its selector found. */
export type ValueSource =
  /** The element's text (markup dropped, whitespace collapsed). */
  | { kind: 'text' }
  /** A named attribute of the element. */
  | { kind: 'attribute'; name: string }
  /** A named query parameter of the URL in the element's `link` attribute (default `href`). */
  | { kind: 'query'; name: string; link: string }
  /** A path segment of that URL: 0 the first, -1 the last. */
  | { kind: 'segment'; index: number; link: string };

/** How one field is read from an item. */
export interface FieldSpec {
  /** Inside the item; undefined = the item element itself. */
  selector: string | undefined;
  from: ValueSource;
  /** Applied to the value; the first capture group (or the whole match) is kept. */
  regex: RegExp | undefined;
}

/** A part of the certificate link that names something, for the safety checks. */
export type LinkPart = { kind: 'query'; name: string } | { kind: 'segment'; index: number };

export type FieldName = 'id' | 'title' | 'issued' | 'link' | 'awardId' | 'kind' | 'expires';

export interface AchievementsProfile {
  /** The listing page of one user in one course: `{userRef}`, `{courseRef}`, `{userId}`, `{courseId}`. */
  url: string;
  /** One achievement on that page. */
  item: string;
  /**
   * Each field as a list of alternatives, tried in order until one yields a value. `id` is
   * required; `link` is the certificate's download link (an item without one is a badge, unless
   * its kind says certificate).
   */
  fields: { id: FieldSpec[] } & Partial<Record<Exclude<FieldName, 'id'>, FieldSpec[]>>;
  /** Values of the `kind` field (compared case-insensitively). */
  kinds: { certificate: string[]; badge: string[] };
  /**
   * Parts of the certificate link that, when the link carries them, must match the item's id, the
   * course and the user: a link about someone else is not believed.
   */
  linkChecks: { id?: LinkPart; course?: LinkPart; user?: LinkPart };
}

/** The site's web login facts (`login:`), for the web session. */
export interface SiteLoginProfile {
  /** Where the login form is, e.g. `/webapps/login/`. */
  loginPath?: string;
  /** The page only a logged-in user gets, e.g. `/ultra/stream`. */
  landingPath?: string;
  usernameSelector?: string;
  passwordSelector?: string;
  submitSelector?: string;
  /** A URL whose path and query match any of these means "logged out" (regular expressions). */
  loggedOutUrlPatterns?: RegExp[];
}

export interface SiteProfile {
  /** The file it came from, or `default`; named in messages. */
  source: string;
  achievements: AchievementsProfile;
  certificate: {
    /** The download URL when the page shows no link; every placeholder allowed. */
    url: string | undefined;
  };
  login: SiteLoginProfile | undefined;
  /** Largest listing page read, in bytes. Default 5 MiB. */
  maxPageBytes: number;
}

export const DEFAULT_MAX_PAGE_BYTES = 5 * 1024 * 1024;

/** A profile file that is not right: one line per problem, each naming the file and line. */
export class SiteProfileError extends ConfigError {
  constructor(problems: readonly string[]) {
    super(problems);
  }
}

/** One alternative of a field, without a regex. */
export function fieldSpec(selector: string | undefined, from: ValueSource): FieldSpec {
  return { selector, from, regex: undefined };
}
