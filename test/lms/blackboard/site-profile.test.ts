import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SITE_PROFILE,
  fillTemplate,
  loadSiteProfile,
  SiteProfileError,
  siteProfileFromLegacy,
  unsupportedFilters,
} from '../../../src/lms/blackboard/site-profile.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'site-profile-'));
function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SiteProfileError);
    return [...(error as SiteProfileError).problems];
  }
  throw new Error('expected a SiteProfileError');
}

const EXAMPLE = path.resolve(import.meta.dirname, '../../../docs/examples/learn-table-profile.yaml');

describe('loadSiteProfile', () => {
  it('reads the example YAML profile: fields as lists of alternatives, defaults filled in', () => {
    const profile = loadSiteProfile(EXAMPLE);
    expect(profile.source).toBe('learn-table-profile.yaml');
    expect(profile.achievements.item).toBe('table.earned-achievements tbody tr');
    expect(profile.achievements.fields.id).toEqual([
      { selector: undefined, from: { kind: 'attribute', name: 'data-record-id' }, regex: undefined },
    ]);
    expect(profile.achievements.fields.link?.[0]).toMatchObject({
      selector: 'td.download a',
      from: { kind: 'attribute', name: 'href' },
    });
    expect(profile.achievements.linkChecks).toEqual({
      course: { kind: 'segment', index: 3 },
      user: { kind: 'segment', index: 4 },
      id: { kind: 'segment', index: 5 },
    });
    expect(profile.certificate.url).toBeUndefined();
    expect(profile.maxPageBytes).toBe(5 * 1024 * 1024);
  });

  it('reads JSON too, with query and segment sources, regexes and a login section', () => {
    const profile = loadSiteProfile(
      file(
        'p.json',
        JSON.stringify({
          achievements: {
            url: '/a?c={courseRef}&u={userRef}',
            item: 'div.card',
            fields: {
              id: [
                { from: { attribute: 'data-id' } },
                { selector: 'a.pdf', from: { query: 'cert' } },
                { selector: 'a.pdf', from: { segment: -1, link: 'data-href' }, regex: '^(.+)\\.pdf$' },
              ],
              link: { selector: 'a.pdf' },
              title: { selector: 'h3' },
            },
          },
          certificate: { url: '/dl/{issuedRef}?n={issuedId}' },
          login: {
            loginPath: '/login',
            landingPath: '/home',
            passwordSelector: '#pw',
            loggedOutUrlPatterns: ['/login\\b'],
          },
        }),
      ),
    );
    const [a, b, c] = profile.achievements.fields.id;
    expect(a!.from).toEqual({ kind: 'attribute', name: 'data-id' });
    expect(b!.from).toEqual({ kind: 'query', name: 'cert', link: 'href' });
    expect(c!.from).toEqual({ kind: 'segment', index: -1, link: 'data-href' });
    expect(c!.regex!.exec('x.pdf')?.[1]).toBe('x');
    expect(profile.achievements.fields.title![0]!.from).toEqual({ kind: 'text' });
    expect(profile.achievements.fields.link![0]!.from).toEqual({ kind: 'attribute', name: 'href' });
    expect(profile.login).toMatchObject({
      loginPath: '/login',
      landingPath: '/home',
      passwordSelector: '#pw',
    });
    expect(profile.login!.loggedOutUrlPatterns![0]!.test('https://x/login?a')).toBe(true);
  });

  it('names the file and the line of every problem', () => {
    const text = [
      'achievements:', // 1
      '  url: /a?c={course}', // 2
      '  item: "li["', // 3
      '  fields:', // 4
      '    id:', // 5
      '      from: attribute', // 6
      '    title:', // 7
      '      selector: h3', // 8
      '      regex: "(["', // 9
      '    colour: red', // 10
      '  linkChecks:', // 11
      '    user: {param: user}', // 12
    ].join('\n');
    const problems = problemsOf(() => loadSiteProfile(file('profile.yaml', text)));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^profile\.yaml:2: achievements\.url: unknown placeholder \{course\}/),
        expect.stringMatching(/^profile\.yaml:3: achievements\.item: "li\[" is not a valid CSS selector/),
        'profile.yaml:6: achievements.fields.id.from: expected "text", {attribute}, {query} or {segment}',
        expect.stringMatching(
          /^profile\.yaml:9: achievements\.fields\.title\.regex: "\(\[" is not a regular expression/,
        ),
        'profile.yaml:4: achievements.fields: unknown key "colour"',
        'profile.yaml:12: achievements.linkChecks.user: expected {query} or {segment}',
      ]),
    );
  });

  it('names the line in a JSON file too', () => {
    const json = [
      '{', // 1
      '  "achievements": {', // 2
      '    "url": "/a/{courseRef}/{userRef}",', // 3
      '    "item": "tr",', // 4
      '    "fields": { "id": { "selector": "td:nth-child(", "from": "text" } }', // 5
      '  },', // 6
      '  "login": { "landingPath": "home" }', // 7
      '}',
    ].join('\n');
    const problems = problemsOf(() => loadSiteProfile(file('p.json', json)));
    expect(problems).toEqual([
      expect.stringMatching(
        /^p\.json:5: achievements\.fields\.id\.selector: "td:nth-child\(" is not a valid CSS selector/,
      ),
      'p.json:7: login.landingPath: expected a path starting with /',
    ]);
  });

  it('a missing section, a YAML syntax error and an unreadable file are errors too', () => {
    expect(problemsOf(() => loadSiteProfile(file('empty.yaml', 'login: {}\n')))).toEqual([
      'empty.yaml:1: achievements: missing',
    ]);
    const [syntax] = problemsOf(() => loadSiteProfile(file('bad.yaml', 'achievements:\n  url: [\n')));
    expect(syntax).toMatch(/^bad\.yaml:\d+: /);
    const [missing] = problemsOf(() => loadSiteProfile(path.join(dir, 'nope.yaml')));
    expect(missing).toMatch(/nope\.yaml: cannot read the site profile \(ENOENT\)/);
  });
});

describe('siteProfileFromLegacy (BB_* overrides)', () => {
  it('with no variables is the base itself', () => {
    expect(siteProfileFromLegacy({}, DEFAULT_SITE_PROFILE)).toEqual(DEFAULT_SITE_PROFILE);
  });

  it('translates the old placeholders and replaces selectors, wherever the base used them', () => {
    const profile = siteProfileFromLegacy(
      {
        BB_ACHIEVEMENTS_URL: '/x?user_id={userId}&course_id={courseId}',
        BB_CERTIFICATE_URL: '/dl?a=_{issuedId}_1&c=_{orgUnitId}_1&u=_{userId}_1&w={awardId}',
        BB_ACHIEVEMENT_SELECTOR: 'div.card',
        BB_CERTIFICATE_LINK_SELECTOR: 'a.pdf',
        BB_TITLE_SELECTOR: 'h3',
        BB_ISSUED_SELECTOR: 'time.when',
      },
      DEFAULT_SITE_PROFILE,
    );
    expect(profile.achievements.url).toBe('/x?user_id={userRef}&course_id={courseRef}');
    expect(profile.certificate.url).toBe('/dl?a=_{issuedId}_1&c=_{courseId}_1&u=_{userId}_1&w={awardId}');
    expect(profile.achievements.item).toBe('div.card');
    expect(profile.achievements.fields.link![0]!.selector).toBe('a.pdf');
    // The id read from the link follows the link's new selector.
    expect(profile.achievements.fields.id[1]!.selector).toBe('a.pdf');
    expect(profile.achievements.fields.title![0]!.selector).toBe('h3');
    expect(profile.achievements.fields.issued![0]).toMatchObject({
      selector: 'time.when',
      from: { kind: 'attribute', name: 'datetime' },
    });
    // The base is untouched.
    expect(DEFAULT_SITE_PROFILE.achievements.item).toBe('li.achievement');
    // The old default certificate URL means what it meant.
    const url = fillTemplate(
      profile.certificate.url!,
      { userRef: '_7_1', courseRef: '_12_1', issuedRef: '_901_1', awardRef: '_55_1' },
      'https://learn.example',
      'BB_CERTIFICATE_URL',
    );
    expect(url.href).toBe('https://learn.example/dl?a=_901_1&c=_12_1&u=_7_1&w=55');
  });

  it('names the variable of a bad value', () => {
    const problems = problemsOf(() =>
      siteProfileFromLegacy(
        { BB_ISSUED_SELECTOR: 'time[', BB_ACHIEVEMENTS_URL: '/x?c={course}', BB_CERTIFICATE_URL: '/d?{x}' },
        DEFAULT_SITE_PROFILE,
      ),
    );
    expect(problems).toEqual([
      'BB_ACHIEVEMENTS_URL: unknown placeholder {course} (known: {courseId}, {userId})',
      'BB_CERTIFICATE_URL: unknown placeholder {x} (known: {issuedId}, {orgUnitId}, {userId}, {awardId})',
      expect.stringMatching(/^BB_ISSUED_SELECTOR: "time\[" is not a valid CSS selector/),
    ]);
  });
});

describe('templates and filters', () => {
  it('{…Ref} is the id as given, {…Id} its number; an id without one fails with a clear message', () => {
    const ids = { userRef: '_7_1', courseRef: 'b3c1d2e4-uuid', issuedRef: '_9_4' };
    expect(fillTemplate('/p/{courseRef}/{userId}', ids, 'https://l.example', 'T').pathname).toBe(
      '/p/b3c1d2e4-uuid/7',
    );
    expect(() => fillTemplate('/p?c={courseId}', ids, 'https://l.example', 'T')).toThrow(
      /needs the number of course id "b3c1d2e4-uuid" for \{courseId\}.*use \{courseRef\}/,
    );
    expect(() => fillTemplate('/p?i={issuedId}', ids, 'https://l.example', 'T')).toThrow(/_9_4/);
    expect(() => fillTemplate('https://evil.example/x', ids, 'https://l.example', 'T')).toThrow(
      /leads off the LMS/,
    );
  });

  it('unsupportedFilters says what the pages lack and how to declare it', () => {
    expect(
      unsupportedFilters(DEFAULT_SITE_PROFILE, { includeExpired: true, issuedAfter: '2026-01-01T00:00:00Z' }),
    ).toEqual([]);
    const [expired] = unsupportedFilters(DEFAULT_SITE_PROFILE, { includeExpired: false });
    expect(expired).toMatch(/expiry date.*declare achievements\.fields\.expires/);
    const noDates = loadSiteProfile(
      file(
        'nodate.yaml',
        'achievements:\n  url: /a/{courseRef}/{userRef}\n  item: li\n  fields:\n    id: {from: {attribute: id}}\n',
      ),
    );
    expect(
      unsupportedFilters(noDates, {
        issuedAfter: '2026-01-01T00:00:00Z',
        issuedBefore: '2027-01-01T00:00:00Z',
      }),
    ).toEqual([
      expect.stringMatching(/^issuedAfter needs each certificate's issue date.*fields\.issued/),
      expect.stringMatching(/^issuedBefore needs/),
    ]);
  });
});
