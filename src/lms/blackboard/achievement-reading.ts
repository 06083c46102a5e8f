/** What reading a Learn listing page yields: for the adapter, for `inspect` and for the doctor. */
import type { AwardEntry } from '../ports.ts';
import type { FieldName, SiteProfile } from './site-profile-shape.ts';

/** Where the page was read and for whom. */
export interface PageContext {
  /** Where the page was read from: relative links resolve against it; its origin is the LMS's. */
  pageUrl: URL | string;
  /** The user and course the page was asked for, as the LMS names them (`_7_1`, a UUID…). */
  userRef: string;
  courseRef: string;
  profile: SiteProfile;
}

/** One achievement of a page: the entry, and for a certificate where its PDF is. */
export interface ListedAward {
  entry: AwardEntry;
  /** The PDF's URL (the page's link, else the profile's template); certificates only. */
  download: URL | undefined;
  /** When it expires (ISO 8601, UTC), when the profile reads an expiry date. */
  expires: string | null;
}

/** A parsed page: its awards, or the login form (the session is not logged in). */
export type AchievementsPage = { kind: 'login' } | { kind: 'achievements'; awards: ListedAward[] };

/** What one field of one item read: the raw text, and the parsed value or why it is refused. */
export interface FieldReading {
  /** As found (bounded), or null when no alternative found a value. */
  raw: string | null;
  /** Parsed (an id, a title, an ISO date, an absolute URL, a kind), or null. */
  value: string | null;
  error?: string;
}

/** Everything read from one item: for the adapter and for `inspect`. */
export interface ItemReading {
  /** 1-based position on the page. */
  index: number;
  fields: Partial<Record<FieldName, FieldReading>>;
  /** The item's outcome; undefined for an award that cannot be named (skipped, not counted). */
  award: ListedAward | undefined;
}
