import { describe, expect, it } from 'vitest';
import {
  achievementsPageUrl,
  parseAchievementsPage,
  type AchievementsPage,
  type ListedAward,
} from '../../../src/lms/blackboard/achievements-page.ts';
import { fromLearnId, parseLearnId, toLearnId } from '../../../src/lms/blackboard/ids.ts';
import {
  DEFAULT_SITE_PROFILE,
  loadSiteProfile,
  parseSiteProfile,
  siteProfileFromLegacy,
  type SiteProfile,
} from '../../../src/lms/blackboard/site-profile.ts';
import type { AwardEntry } from '../../../src/lms/ports.ts';

const LMS = 'https://learn.example.edu';
const PAGE = `${LMS}/webapps/achievements/studentViewAchievements.form?course_id=_12_1&user_id=_7_1`;
const ctx = { pageUrl: PAGE, userRef: '_7_1', courseRef: '_12_1', profile: DEFAULT_SITE_PROFILE };

/** The page of the contract (.tmp/blackboard-spec.md), one certificate and one badge. */
const SPEC_PAGE = `<!doctype html><html><body>
<ul id="achievements">
  <li class="achievement" data-achievement-id="_901_1" data-award-id="_55_1" data-type="certificate">
    <span class="achievement-title">Fire &amp; Safety &lt;Level 2&gt;</span>
    <time class="achievement-issued" datetime="2026-03-01T10:00:00Z">1 March 2026</time>
    <a class="achievement-certificate" href="/webapps/achievements/certificate/download.form?achievement_id=_901_1&amp;course_id=_12_1&amp;user_id=_7_1">Download certificate</a>
  </li>
  <li class="achievement" data-achievement-id="_902_1" data-award-id="_56_1" data-type="badge">
    <span class="achievement-title">A badge</span>
  </li>
</ul></body></html>`;

const item = (attrs: string, inner: string) => `<li class="achievement" ${attrs}>${inner}</li>`;
const link = (href: string) => `<a class="achievement-certificate" href="${href}">Download</a>`;
const dl = (id = '_901_1', course = '_12_1', user = '_7_1') =>
  `/webapps/achievements/certificate/download.form?achievement_id=${id}&amp;course_id=${course}&amp;user_id=${user}`;
const page = (...items: string[]) => `<ul id="achievements">${items.join('\n')}</ul>`;

function awards(result: AchievementsPage): ListedAward[] {
  if (result.kind !== 'achievements') throw new Error('expected an achievements page');
  return result.awards;
}
const entries = (result: AchievementsPage): AwardEntry[] => awards(result).map((a) => a.entry);
const rejected = (e: AwardEntry) => {
  if (e.ok) throw new Error(`expected a refusal, got ${JSON.stringify(e)}`);
  return e;
};

describe('Learn ids', () => {
  it('travel as Learn gives them; only a safe alphabet passes; {…Id} numbers come from _N_1', () => {
    for (const good of ['_123_1', '_123_4', 'b4c1f0e2a9d84c1b9e0f3a2b1c0d9e8f', '4f1c-77aa-uuid']) {
      expect(parseLearnId(good)).toBe(good);
    }
    for (const bad of ['../../etc/passwd', '_1_1/x', 'a b', '', '___', 'x'.repeat(101), 12, null]) {
      expect(parseLearnId(bad)).toBeUndefined();
    }
    expect(fromLearnId('_123_1')).toBe(123);
    expect(fromLearnId('_123_4')).toBeUndefined();
    expect(toLearnId(123)).toBe('_123_1');
    expect(toLearnId('_5_4')).toBe('_5_4');
    expect(() => toLearnId(0)).toThrow(TypeError);
  });
});

describe('parseAchievementsPage with the default selectors', () => {
  it('reads the contract page: the certificate with its ids, title as text and date; the badge as a badge', () => {
    const [cert, badge, ...rest] = awards(parseAchievementsPage(SPEC_PAGE, ctx));
    expect(rest).toEqual([]);
    expect(cert!.entry).toEqual({
      ok: true,
      kind: 'certificate',
      certificate: {
        userId: '_7_1',
        orgUnitId: '_12_1',
        issuedId: '_901_1',
        awardId: '_55_1',
        title: 'Fire & Safety <Level 2>',
        issuedDate: '2026-03-01T10:00:00.000Z',
      },
    });
    // The PDF is fetched from the link the page shows.
    expect(cert!.download?.href).toBe(
      `${LMS}/webapps/achievements/certificate/download.form?achievement_id=_901_1&course_id=_12_1&user_id=_7_1`,
    );
    expect(badge!.entry).toMatchObject({
      ok: true,
      kind: 'badge',
      certificate: { issuedId: '_902_1', awardId: '_56_1' },
    });
    expect(badge!.download).toBeUndefined();
  });

  it('an empty course is no entries; a missing date is null; a missing award id is the achievement id', () => {
    expect(entries(parseAchievementsPage('<ul id="achievements"></ul><p>No achievements</p>', ctx))).toEqual(
      [],
    );
    const [e] = entries(
      parseAchievementsPage(
        page(item('', `<span class="achievement-title">T</span>${link(dl('_44_1'))}`)),
        ctx,
      ),
    );
    expect(e).toMatchObject({
      ok: true,
      certificate: { issuedId: '_44_1', awardId: '_44_1', issuedDate: null, title: 'T' },
    });
  });

  it('takes the achievement id from the link when the item has no attribute', () => {
    const [e] = entries(parseAchievementsPage(page(item('data-award-id="_3_1"', link(dl('_77_1')))), ctx));
    expect(e).toMatchObject({
      ok: true,
      kind: 'certificate',
      certificate: { issuedId: '_77_1', awardId: '_3_1' },
    });
  });

  it('reads a date without a zone as UTC and a date alone as midnight UTC', () => {
    const withDate = (d: string) =>
      parseAchievementsPage(
        page(
          item(
            'data-achievement-id="_1_1"',
            `<time class="achievement-issued" datetime="${d}"></time>${link(dl('_1_1'))}`,
          ),
        ),
        ctx,
      );
    expect(entries(withDate('2026-03-01T10:00'))[0]).toMatchObject({
      certificate: { issuedDate: '2026-03-01T10:00:00.000Z' },
    });
    expect(entries(withDate('2026-03-01'))[0]).toMatchObject({
      certificate: { issuedDate: '2026-03-01T00:00:00.000Z' },
    });
    expect(entries(withDate('2026-03-01T12:00:00+02:00'))[0]).toMatchObject({
      certificate: { issuedDate: '2026-03-01T10:00:00.000Z' },
    });
    expect(entries(withDate('1 March 2026'))[0]).toMatchObject({
      certificate: { issuedDate: '2026-03-01T00:00:00.000Z' },
    });
    expect(entries(withDate('March 1, 2026'))[0]).toMatchObject({
      certificate: { issuedDate: '2026-03-01T00:00:00.000Z' },
    });
    expect(rejected(entries(withDate('31 February 2026'))[0]!).reason).toMatch(
      /issued date "31 February 2026" is not a date/,
    );
    expect(rejected(entries(withDate('soon'))[0]!).reason).toMatch(/issued date "soon"/);
  });

  it('says a page with a password field is the login page', () => {
    const login = `<form method="post" action="/webapps/login/" name="login"><input name="user_id"><input type="password" name="password"></form>`;
    expect(parseAchievementsPage(login, ctx)).toEqual({ kind: 'login' });
  });
});

describe('parseAchievementsPage with the BB_* selectors laid over the default profile', () => {
  it('reads another markup when told its selectors', () => {
    const html = `<div class="grid">
      <div class="card" data-achievement-id="_5_1" data-award-id="_6_1">
        <h3 class="name">Custom <em>title</em></h3><span class="when" datetime="2025-12-24T08:00:00Z"></span>
        <a class="pdf" href="/webapps/achievements/certificate/download.form?achievement_id=_5_1">PDF</a>
      </div></div>`;
    expect(entries(parseAchievementsPage(html, ctx))).toEqual([]);
    const profile = siteProfileFromLegacy(
      {
        BB_ACHIEVEMENT_SELECTOR: 'div.card',
        BB_CERTIFICATE_LINK_SELECTOR: 'a.pdf',
        BB_TITLE_SELECTOR: 'h3.name',
        BB_ISSUED_SELECTOR: 'span.when',
      },
      DEFAULT_SITE_PROFILE,
    );
    expect(entries(parseAchievementsPage(html, { ...ctx, profile }))).toEqual([
      {
        ok: true,
        kind: 'certificate',
        certificate: {
          userId: '_7_1',
          orgUnitId: '_12_1',
          issuedId: '_5_1',
          awardId: '_6_1',
          title: 'Custom title',
          issuedDate: '2025-12-24T08:00:00.000Z',
        },
      },
    ]);
  });
});

/** The sandbox's alternate markup (docs/examples/learn-table-profile.yaml). */
const TABLE_PROFILE = loadSiteProfile(
  new URL('../../../docs/examples/learn-table-profile.yaml', import.meta.url).pathname,
);
const TABLE_PAGE_URL = `${LMS}/webapps/bb-achievements/course/_12_1/user/_7_1/earned`;
const tableCtx = { pageUrl: TABLE_PAGE_URL, userRef: '_7_1', courseRef: '_12_1', profile: TABLE_PROFILE };
const signed = (id: string, course = '_12_1', user = '_7_1') =>
  `/webapps/bb-achievements/files/${course}/${user}/${id}/certificate.pdf?expires=1999999999&amp;sig=abc123`;
const row = (id: string, kind: string, link: string | undefined, title = 'Fire safety') =>
  `<tr data-record-id="${id}"><td class="name">${title}</td><td class="awarded" data-date="2026-03-01">1 March 2026</td><td class="kind">${kind}</td><td class="download">${link === undefined ? '' : `<a href="${link}">PDF</a>`}</td></tr>`;
const table = (...rows: string[]) =>
  `<table class="earned-achievements"><thead><tr><th>Name</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;

describe('parseAchievementsPage with a site profile for another markup (a table)', () => {
  it('reads rows, ids from another attribute, and keeps the signed path-style link as the download', () => {
    const html = table(
      row('_901_4', 'Certificate', signed('_901_4')),
      row('9f8e7d6c-uuid', 'Badge', undefined, 'A badge'),
    );
    const [cert, badge] = awards(parseAchievementsPage(html, tableCtx));
    expect(cert!.entry).toEqual({
      ok: true,
      kind: 'certificate',
      certificate: {
        userId: '_7_1',
        orgUnitId: '_12_1',
        issuedId: '_901_4',
        awardId: '_901_4',
        title: 'Fire safety',
        issuedDate: '2026-03-01T00:00:00.000Z',
      },
    });
    expect(cert!.download?.href).toBe(
      `${LMS}/webapps/bb-achievements/files/_12_1/_7_1/_901_4/certificate.pdf?expires=1999999999&sig=abc123`,
    );
    expect(badge!.entry).toMatchObject({
      ok: true,
      kind: 'badge',
      certificate: { issuedId: '9f8e7d6c-uuid' },
    });
  });

  it('believes no link about another course or user (path segments), and refuses an off-host link', () => {
    const html = table(
      row('_1_1', 'Certificate', signed('_1_1', '_13_1')),
      row('_2_1', 'Certificate', signed('_2_1', '_12_1', '_8_1')),
      row('_3_1', 'Certificate', `https://evil.example${signed('_3_1')}`),
      row('_4_1', 'Certificate', undefined),
    );
    const [a, b, c, d] = entries(parseAchievementsPage(html, tableCtx));
    expect(rejected(a!).reason).toMatch(/the link is for course "_13_1", not _12_1/);
    expect(rejected(b!).reason).toMatch(/the link is for user "_8_1", not _7_1/);
    expect(rejected(c!).reason).toMatch(/another host \(https:\/\/evil\.example\); refused/);
    // Its kind says certificate, there is no link, and this profile has no certificate.url.
    expect(rejected(d!).reason).toMatch(
      /without a download link, and the site profile .* has no certificate\.url/,
    );
  });

  it('falls back to the certificate URL template when the page shows no link, with ids as given or their numbers', () => {
    const profile: SiteProfile = {
      ...TABLE_PROFILE,
      certificate: { url: '/dl/{courseRef}/{issuedRef}?n={issuedId}' },
    };
    const html = table(row('_4_1', 'Certificate', undefined), row('_5_4', 'Certificate', undefined));
    const [ok, noNumber] = awards(parseAchievementsPage(html, { ...tableCtx, profile }));
    expect(ok!.entry.ok).toBe(true);
    expect(ok!.download?.href).toBe(`${LMS}/dl/_12_1/_4_1?n=4`);
    expect(rejected(noNumber!.entry).reason).toMatch(/needs the number of issued id "_5_4" for \{issuedId\}/);
  });

  it('reads fields from a query parameter or a path segment with a regex, and an expiry date', () => {
    const profile = parseSiteProfile(
      [
        'achievements:',
        '  url: /a/{courseRef}/{userRef}',
        '  item: div.cert',
        '  fields:',
        "    id: {selector: a, from: {segment: -1}, regex: '^(.+)\\.pdf$'}",
        '    awardId: {selector: a, from: {query: tpl}}',
        '    title: {selector: h4}',
        '    expires: {selector: ".exp", from: text}',
        '    link: {selector: a}',
      ].join('\n'),
      'p.yaml',
    );
    const html = `<div class="cert"><h4>T</h4><span class="exp">2027-01-31</span><a href="/c/_77_1.pdf?tpl=_3_1">x</a></div>`;
    const [award] = awards(parseAchievementsPage(html, { ...tableCtx, profile }));
    expect(award!.entry).toMatchObject({ ok: true, certificate: { issuedId: '_77_1', awardId: '_3_1' } });
    expect(award!.expires).toBe('2027-01-31T00:00:00.000Z');
    expect(award!.download?.pathname).toBe('/c/_77_1.pdf');
  });
});

describe('parseAchievementsPage against hostile pages', () => {
  it('keeps an HTML-injection title as text, markup and control characters dropped', () => {
    const html = page(
      item(
        'data-achievement-id="_1_1"',
        `<span class="achievement-title"><img src=x onerror="alert(1)">Evil<script>alert(2)</script> &lt;b&gt;bold&lt;/b&gt;\u0007\n title</span>${link(dl('_1_1'))}`,
      ),
    );
    const [e] = entries(parseAchievementsPage(html, ctx));
    expect(e).toMatchObject({ ok: true, certificate: { title: 'Evilalert(2) <b>bold</b> title' } });
  });

  it('cuts a huge title to 1000 characters', () => {
    const html = page(
      item(
        'data-achievement-id="_1_1"',
        `<span class="achievement-title">${'x'.repeat(5000)}</span>${link(dl('_1_1'))}`,
      ),
    );
    const [e] = entries(parseAchievementsPage(html, ctx));
    expect(e?.ok && e.certificate.title.length).toBe(1000);
  });

  it('refuses a link to another host, or not http(s), for that item only', () => {
    const html = page(
      item('data-achievement-id="_1_1"', link('https://evil.example/steal?achievement_id=_1_1')),
      item('data-achievement-id="_2_1"', link('//evil.example/x')),
      item('data-achievement-id="_3_1"', link('javascript:alert(1)')),
      item('data-achievement-id="_4_1"', link(dl('_4_1'))),
    );
    const [a, b, c, d] = entries(parseAchievementsPage(html, ctx));
    expect(rejected(a!)).toMatchObject({ code: 'LMS_DATA_INVALID', ref: 'course _12_1 achievement "_1_1"' });
    expect(rejected(a!).reason).toMatch(/another host \(https:\/\/evil\.example\)/);
    expect(rejected(b!).reason).toMatch(/another host/);
    expect(rejected(c!).reason).toMatch(/not http\(s\)/);
    expect(d).toMatchObject({ ok: true, certificate: { issuedId: '_4_1' } });
  });

  it('refuses malformed ids for that item only, and never crashes', () => {
    const html = page(
      item('data-achievement-id="_1 1"', link(dl('_1_2'))),
      item('data-achievement-id="../../etc/passwd"', link(dl('x'))),
      item('data-achievement-id="&lt;b&gt;"', link(dl('_0_1'))),
      item('data-achievement-id="_5_1" data-award-id="5/6"', link(dl('_5_1'))),
      item('', link('/webapps/achievements/certificate/download.form')),
      item('data-achievement-id="_6_1"', '<a class="achievement-certificate">no href</a>'),
      item(
        'data-achievement-id="_7_4" data-type="certificate"',
        '<span class="achievement-title">no link</span>',
      ),
      item('data-achievement-id="_8_1"', link(dl('_8_1'))),
      item('data-achievement-id="_9_4"', link(dl('_9_4'))),
    );
    const listed = awards(parseAchievementsPage(html, ctx));
    const all = listed.map((a) => a.entry);
    expect(all).toHaveLength(9);
    const reasons = all.slice(0, 6).map((e) => rejected(e).reason);
    expect(reasons[0]).toMatch(/"_1 1" is not a usable Learn id/);
    expect(reasons[1]).toMatch(/"..\/..\/etc\/passwd" is not a usable Learn id/);
    expect(reasons[2]).toMatch(/"<b>" is not a usable Learn id/);
    expect(reasons[3]).toMatch(/award id "5\/6"/);
    expect(reasons[4]).toMatch(
      /no achievement id \(data-achievement-id of the item, or achievement_id in the link of a\.achievement-certificate\)/,
    );
    expect(rejected(all[4]!).ref).toBe('course _12_1 achievement #5');
    expect(reasons[5]).toMatch(/the certificate link has no href/);
    // A certificate without a link: the profile's certificate URL is the fallback.
    expect(all[6]).toMatchObject({ ok: true, kind: 'certificate', certificate: { issuedId: '_7_4' } });
    expect(listed[6]!.download?.href).toBe(
      `${LMS}/webapps/achievements/certificate/download.form?achievement_id=_7_4&course_id=_12_1&user_id=_7_1`,
    );
    expect(all[7]).toMatchObject({ ok: true, certificate: { issuedId: '_8_1' } });
    // Ids that are not _N_1 travel as they are.
    expect(all[8]).toMatchObject({ ok: true, certificate: { issuedId: '_9_4' } });
  });

  it('refuses a link about another achievement, course or user', () => {
    const html = page(
      item('data-achievement-id="_1_1"', link(dl('_2_1'))),
      item('data-achievement-id="_1_1"', link(dl('_1_1', '_13_1'))),
      item('data-achievement-id="_1_1"', link(dl('_1_1', '_12_1', '_8_1'))),
    );
    const reasons = entries(parseAchievementsPage(html, ctx)).map((e) => rejected(e).reason);
    expect(reasons[0]).toMatch(/achievement "_2_1", the item says "_1_1"/);
    expect(reasons[1]).toMatch(/course "_13_1", not _12_1/);
    expect(reasons[2]).toMatch(/user "_8_1", not _7_1/);
  });

  it('skips a badge it cannot name instead of refusing it', () => {
    const html = page(
      item('data-achievement-id="../bad" data-type="badge"', '<span class="achievement-title">B</span>'),
    );
    expect(entries(parseAchievementsPage(html, ctx))).toEqual([]);
  });

  it('refuses a page over the size limit; parses thousands of items and broken markup', () => {
    expect(() =>
      parseAchievementsPage('x'.repeat(2000), {
        ...ctx,
        profile: { ...DEFAULT_SITE_PROFILE, maxPageBytes: 1000 },
      }),
    ).toThrow(/over the 1000-byte limit/);
    const many = page(
      ...Array.from({ length: 3000 }, (_, i) =>
        item(`data-achievement-id="_${i + 1}_1"`, link(dl(`_${i + 1}_1`))),
      ),
    );
    expect(entries(parseAchievementsPage(many, ctx))).toHaveLength(3000);
    const broken = `<ul id="achievements"><li class="achievement" data-achievement-id="_9_1"><a class="achievement-certificate" href="${dl('_9_1')}">x<li class="achievement" data-achievement-id="_10_1"><span class="achievement-title">unclosed`;
    const got = entries(parseAchievementsPage(broken, ctx));
    expect(got[0]).toMatchObject({ ok: true, kind: 'certificate', certificate: { issuedId: '_9_1' } });
    // The HTML parser reopens the unclosed <a> inside the next item: its link then names another
    // achievement, and that item is refused rather than credited with _9_1's certificate.
    expect(rejected(got[1]!).reason).toMatch(/the link is for achievement "_9_1", the item says "_10_1"/);
  });
});

describe('URL templates', () => {
  it('fills the default listing URL with the Learn ids as given', () => {
    expect(achievementsPageUrl(LMS, DEFAULT_SITE_PROFILE, { userRef: '_7_1', courseRef: '_12_1' }).href).toBe(
      PAGE,
    );
    expect(
      achievementsPageUrl(LMS, DEFAULT_SITE_PROFILE, { userRef: 'a&b', courseRef: 'uuid-1' }).search,
    ).toBe('?course_id=uuid-1&user_id=a%26b');
  });
});
