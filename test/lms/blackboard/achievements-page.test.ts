import { describe, expect, it } from 'vitest';
import {
  achievementsPageUrl,
  certificateDownloadUrl,
  checkSelectors,
  DEFAULT_ACHIEVEMENTS_URL,
  DEFAULT_CERTIFICATE_URL,
  fillTemplate,
  fromLearnId,
  parseAchievementsPage,
  toLearnId,
  type AchievementsPage,
} from '../../../src/lms/index.ts';
import type { AwardEntry } from '../../../src/lms/ports.ts';

const LMS = 'https://learn.example.edu';
const PAGE = `${LMS}/webapps/achievements/studentViewAchievements.form?course_id=_12_1&user_id=_7_1`;
const ctx = { pageUrl: PAGE, userId: 7, orgUnitId: 12 };

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

function entries(result: AchievementsPage): AwardEntry[] {
  if (result.kind !== 'achievements') throw new Error('expected an achievements page');
  return result.entries;
}
const rejected = (e: AwardEntry) => {
  if (e.ok) throw new Error(`expected a refusal, got ${JSON.stringify(e)}`);
  return e;
};

describe('Learn ids', () => {
  it('maps _N_1 ⇄ N and nothing else', () => {
    expect(fromLearnId('_123_1')).toBe(123);
    expect(toLearnId(123)).toBe('_123_1');
    for (const bad of [
      '_123_2',
      '123',
      '_0_1',
      '_007_1',
      '_-1_1',
      '_1e3_1',
      '_12_1 ',
      '_9999999999999999_1',
      12,
      null,
    ]) {
      expect(fromLearnId(bad)).toBeUndefined();
    }
    expect(() => toLearnId(0)).toThrow(TypeError);
    expect(() => toLearnId(1.5)).toThrow(TypeError);
  });
});

describe('parseAchievementsPage with the default selectors', () => {
  it('reads the contract page: the certificate with its ids, title as text and date; the badge as a badge', () => {
    const [cert, badge, ...rest] = entries(parseAchievementsPage(SPEC_PAGE, ctx));
    expect(rest).toEqual([]);
    expect(cert).toEqual({
      ok: true,
      kind: 'certificate',
      certificate: {
        userId: 7,
        orgUnitId: 12,
        issuedId: 901,
        awardId: 55,
        title: 'Fire & Safety <Level 2>',
        issuedDate: '2026-03-01T10:00:00.000Z',
      },
    });
    expect(badge).toMatchObject({ ok: true, kind: 'badge', certificate: { issuedId: 902, awardId: 56 } });
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
      certificate: { issuedId: 44, awardId: 44, issuedDate: null, title: 'T' },
    });
  });

  it('takes the achievement id from the link when the item has no attribute', () => {
    const [e] = entries(parseAchievementsPage(page(item('data-award-id="_3_1"', link(dl('_77_1')))), ctx));
    expect(e).toMatchObject({ ok: true, kind: 'certificate', certificate: { issuedId: 77, awardId: 3 } });
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
    expect(rejected(entries(withDate('1 March 2026'))[0]!).reason).toMatch(/issued date "1 March 2026"/);
  });

  it('says a page with a password field is the login page', () => {
    const login = `<form method="post" action="/webapps/login/" name="login"><input name="user_id"><input type="password" name="password"></form>`;
    expect(parseAchievementsPage(login, ctx)).toEqual({ kind: 'login' });
  });
});

describe('parseAchievementsPage with custom selectors', () => {
  it('reads another markup when told its selectors', () => {
    const html = `<div class="grid">
      <div class="card" data-achievement-id="_5_1" data-award-id="_6_1">
        <h3 class="name">Custom <em>title</em></h3><span class="when" datetime="2025-12-24T08:00:00Z"></span>
        <a class="pdf" href="/webapps/achievements/certificate/download.form?achievement_id=_5_1">PDF</a>
      </div></div>`;
    expect(entries(parseAchievementsPage(html, ctx))).toEqual([]);
    const selectors = {
      achievement: 'div.card',
      certificateLink: 'a.pdf',
      title: 'h3.name',
      issued: 'span.when',
    };
    expect(entries(parseAchievementsPage(html, { ...ctx, selectors }))).toEqual([
      {
        ok: true,
        kind: 'certificate',
        certificate: {
          userId: 7,
          orgUnitId: 12,
          issuedId: 5,
          awardId: 6,
          title: 'Custom title',
          issuedDate: '2025-12-24T08:00:00.000Z',
        },
      },
    ]);
  });

  it('a selector that is not CSS names its setting; defaults fill the rest', () => {
    expect(() => checkSelectors({ title: 'span[' })).toThrow(
      /BB_TITLE_SELECTOR "span\[" is not a valid CSS selector/,
    );
    expect(() => checkSelectors({ achievement: ' ' })).toThrow(/BB_ACHIEVEMENT_SELECTOR/);
    expect(checkSelectors({ title: 'h2' })).toMatchObject({ title: 'h2', achievement: 'li.achievement' });
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
    expect(d).toMatchObject({ ok: true, certificate: { issuedId: 4 } });
  });

  it('refuses malformed ids for that item only, and never crashes', () => {
    const html = page(
      item('data-achievement-id="_1_2"', link(dl('_1_2'))),
      item('data-achievement-id="../../etc/passwd"', link(dl('x'))),
      item('data-achievement-id="_0_1"', link(dl('_0_1'))),
      item('data-achievement-id="_5_1" data-award-id="5"', link(dl('_5_1'))),
      item('', link('/webapps/achievements/certificate/download.form')),
      item('data-achievement-id="_6_1"', '<a class="achievement-certificate">no href</a>'),
      item(
        'data-achievement-id="_7_1" data-type="certificate"',
        '<span class="achievement-title">no link</span>',
      ),
      item('data-achievement-id="_8_1"', link(dl('_8_1'))),
    );
    const all = entries(parseAchievementsPage(html, ctx));
    expect(all).toHaveLength(8);
    const reasons = all.slice(0, 7).map((e) => rejected(e).reason);
    expect(reasons[0]).toMatch(/"_1_2" is not a Learn id of the form _N_1/);
    expect(reasons[1]).toMatch(/"..\/..\/etc\/passwd" is not a Learn id/);
    expect(reasons[2]).toMatch(/"_0_1" is not a Learn id/);
    expect(reasons[3]).toMatch(/award id "5"/);
    expect(reasons[4]).toMatch(/no achievement id/);
    expect(rejected(all[4]!).ref).toBe('course _12_1 achievement #5');
    expect(reasons[5]).toMatch(/no href/);
    expect(reasons[6]).toMatch(/certificate without a download link/);
    expect(all[7]).toMatchObject({ ok: true, certificate: { issuedId: 8 } });
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
      item('data-achievement-id="bad" data-type="badge"', '<span class="achievement-title">B</span>'),
    );
    expect(entries(parseAchievementsPage(html, ctx))).toEqual([]);
  });

  it('refuses a page over the size limit; parses thousands of items and broken markup', () => {
    expect(() => parseAchievementsPage('x'.repeat(2000), { ...ctx, maxBytes: 1000 })).toThrow(
      /over the 1000-byte limit/,
    );
    const many = page(
      ...Array.from({ length: 3000 }, (_, i) =>
        item(`data-achievement-id="_${i + 1}_1"`, link(dl(`_${i + 1}_1`))),
      ),
    );
    expect(entries(parseAchievementsPage(many, ctx))).toHaveLength(3000);
    const broken = `<ul id="achievements"><li class="achievement" data-achievement-id="_9_1"><a class="achievement-certificate" href="${dl('_9_1')}">x<li class="achievement" data-achievement-id="_10_1"><span class="achievement-title">unclosed`;
    const got = entries(parseAchievementsPage(broken, ctx));
    expect(got[0]).toMatchObject({ ok: true, kind: 'certificate', certificate: { issuedId: 9 } });
    // The HTML parser reopens the unclosed <a> inside the next item: its link then names another
    // achievement, and that item is refused rather than credited with _9_1's certificate.
    expect(rejected(got[1]!).reason).toMatch(/the link is for achievement "_9_1", the item says "_10_1"/);
  });
});

describe('URL templates', () => {
  it('fills the contract defaults with Learn ids and integers', () => {
    expect(achievementsPageUrl(LMS, DEFAULT_ACHIEVEMENTS_URL, { userId: 7, orgUnitId: 12 }).href).toBe(PAGE);
    expect(
      certificateDownloadUrl(LMS, DEFAULT_CERTIFICATE_URL, {
        userId: 7,
        orgUnitId: 12,
        issuedId: 901,
        awardId: 55,
      }).href,
    ).toBe(
      `${LMS}/webapps/achievements/certificate/download.form?achievement_id=_901_1&course_id=_12_1&user_id=_7_1`,
    );
  });

  it('URL-encodes values, refuses unknown placeholders and templates that leave the LMS', () => {
    expect(fillTemplate('/x?a={v}', { v: 'a&b=c/d' }, LMS, 'S').search).toBe('?a=a%26b%3Dc%2Fd');
    expect(() => fillTemplate('/x?a={nope}', { v: 1 }, LMS, 'BB_X')).toThrow(
      /BB_X: unknown placeholder \{nope\}/,
    );
    expect(() => fillTemplate('https://evil.example/x?a={v}', { v: 1 }, LMS, 'BB_X')).toThrow(
      /leads off the LMS/,
    );
    expect(() => fillTemplate('//evil.example/x', {}, LMS, 'BB_X')).toThrow(/leads off the LMS/);
  });
});
