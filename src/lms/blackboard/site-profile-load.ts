/**
 * Reading a profile file: YAML (or JSON, which is YAML) parsed with line numbers, checked against
 * the schema, every problem reported with the file and line it is on.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Document } from 'yaml';
import type { z } from 'zod';
import { DEFAULT_SITE_PROFILE } from './site-profile-default.ts';
import { profileFileSchema, type ProfileFile } from './site-profile-schema.ts';
import {
  DEFAULT_MAX_PAGE_BYTES,
  SiteProfileError,
  type AchievementsProfile,
  type SiteProfile,
} from './site-profile-shape.ts';

/**
 * yaml is read only when a site profile is (every command loads the configuration, and most
 * never need it): synchronously, as `configure()` is synchronous.
 */
const requireHere = createRequire(import.meta.url);
const yaml = (): typeof import('yaml') => requireHere('yaml') as typeof import('yaml');

/** Read, parse and check a profile file (YAML or JSON). Throws SiteProfileError naming each line. */
export function loadSiteProfile(file: string): SiteProfile {
  const shown = path.basename(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SiteProfileError([
      `${file}: cannot read the site profile (${code ?? (error as Error).message}); LMS_SITE_PROFILE names it`,
    ]);
  }
  return parseSiteProfile(text, shown);
}

/** A profile from its text; `file` names it in messages. */
export function parseSiteProfile(text: string, file: string): SiteProfile {
  const { LineCounter, parseDocument } = yaml();
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number) => lines.linePos(offset).line;
  if (doc.errors.length > 0) {
    throw new SiteProfileError(
      doc.errors.slice(0, 10).map((e) => `${file}:${lineOf(e.pos[0])}: ${firstLine(e.message)}`),
    );
  }
  const raw: unknown = doc.toJS();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SiteProfileError([`${file}:1: expected a mapping with an "achievements" section`]);
  }
  const parsed = profileFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new SiteProfileError(
      parsed.error.issues.slice(0, 20).map((issue) => {
        const where = issue.path.map(String);
        const line = lineOfPath(doc, issue.path as (string | number)[], lineOf);
        return `${file}:${line}: ${where.join('.') || '(file)'}: ${issueMessage(issue)}`;
      }),
    );
  }
  return fromFile(parsed.data, file);
}

function fromFile(f: ProfileFile, source: string): SiteProfile {
  const d = DEFAULT_SITE_PROFILE.achievements;
  const fields: AchievementsProfile['fields'] = { id: f.achievements.fields.id };
  for (const key of ['title', 'issued', 'link', 'awardId', 'kind', 'expires'] as const) {
    const value = f.achievements.fields[key];
    if (value) fields[key] = value;
  }
  const checks: AchievementsProfile['linkChecks'] = {};
  for (const key of ['id', 'course', 'user'] as const) {
    const value = f.achievements.linkChecks?.[key];
    if (value) checks[key] = value;
  }
  const login = f.login;
  return {
    source,
    achievements: {
      url: f.achievements.url,
      item: f.achievements.item,
      fields,
      kinds: {
        certificate: f.achievements.kinds?.certificate ?? [...d.kinds.certificate],
        badge: f.achievements.kinds?.badge ?? [...d.kinds.badge],
      },
      linkChecks: checks,
    },
    certificate: { url: f.certificate?.url },
    login: login ? Object.fromEntries(Object.entries(login).filter(([, v]) => v !== undefined)) : undefined,
    maxPageBytes: f.maxPageBytes ?? DEFAULT_MAX_PAGE_BYTES,
  };
}

/** The line of the deepest node of `at` that exists in the document (the key's line, else the value's). */
function lineOfPath(doc: Document, at: (string | number)[], lineOf: (offset: number) => number): number {
  const { isMap, isScalar, isSeq } = yaml();
  for (let depth = at.length; depth >= 0; depth--) {
    const prefix = at.slice(0, depth);
    const parent = depth === 0 ? doc.contents : doc.getIn(prefix.slice(0, -1), true);
    if (depth > 0 && isMap(parent)) {
      const key = prefix[prefix.length - 1];
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
      const node = pair?.key ?? pair?.value;
      if (node && (isScalar(node) || isMap(node) || isSeq(node)) && node.range) return lineOf(node.range[0]);
    }
    const node = depth === 0 ? doc.contents : doc.getIn(prefix, true);
    if (node && (isScalar(node) || isMap(node) || isSeq(node)) && node.range) return lineOf(node.range[0]);
  }
  return 1;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'missing';
  return issue.message;
}

const firstLine = (text: string) => text.split('\n')[0] ?? text;
