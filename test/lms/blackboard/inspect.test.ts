import { describe, expect, it } from 'vitest';
import { inspectAchievementsPage } from '../../../src/lms/blackboard/inspect.ts';
import { DEFAULT_SITE_PROFILE, loadSiteProfile } from '../../../src/lms/blackboard/site-profile.ts';

const LMS = 'https://learn.example.edu';
const TABLE_PAGE = `<html><body><h1>Earned</h1>
<table class="earned-achievements"><tbody>
  <tr class="row" data-record-id="_901_4" data-template="_55_1"><td class="name">Fire safety</td><td class="awarded" data-date="2026-03-01">1 March 2026</td><td class="kind">Certificate</td>
    <td class="download"><a class="dl" href="/webapps/bb-achievements/files/_12_1/_7_1/_901_4/certificate.pdf?expires=1999999999&amp;sig=abc">PDF</a></td></tr>
  <tr class="row" data-record-id="_902_1"><td class="name">First aid</td><td class="awarded" data-date="2026-04-01">1 April 2026</td><td class="kind">Certificate</td>
    <td class="download"><a class="dl" href="/webapps/bb-achievements/files/_12_1/_7_1/_902_1/certificate.pdf?expires=1999999999&amp;sig=def">PDF</a></td></tr>
  <tr class="row" data-record-id="_903_1"><td class="name">Gold star</td><td class="awarded" data-date="2026-05-01"></td><td class="kind">Badge</td><td class="download"></td></tr>
</tbody></table>
<p><a href="/ultra/stream">Home</a> <a href="/webapps/help?topic=achievements">Help</a></p>
</body></html>`;
const input = (profile = DEFAULT_SITE_PROFILE) => ({
  html: TABLE_PAGE,
  pageUrl: `${LMS}/webapps/bb-achievements/course/_12_1/user/_7_1/earned`,
  profile,
  userRef: '_7_1',
  courseRef: '_12_1',
});

describe('inspectAchievementsPage', () => {
  it('shows what a fitting profile extracts: each field raw and parsed, the download link; no candidates', () => {
    const profile = loadSiteProfile(
      new URL('../../../docs/examples/learn-table-profile.yaml', import.meta.url).pathname,
    );
    const result = inspectAchievementsPage(input(profile));
    expect(result).toMatchObject({
      profile: 'learn-table-profile.yaml',
      itemSelector: 'table.earned-achievements tbody tr',
      loginPage: false,
      itemsFound: 3,
      matches: true,
      summary: { certificates: 2, badges: 1, other: 0, refused: 0, skipped: 0 },
    });
    expect(result.candidates).toBeUndefined();
    expect(result.items[0]).toEqual({
      index: 1,
      outcome: 'certificate',
      fields: {
        id: { raw: '_901_4', value: '_901_4' },
        awardId: { raw: '_55_1', value: '_55_1' },
        title: { raw: 'Fire safety', value: 'Fire safety' },
        issued: { raw: '2026-03-01', value: '2026-03-01T00:00:00.000Z' },
        kind: { raw: 'Certificate', value: 'certificate' },
        link: {
          raw: '/webapps/bb-achievements/files/_12_1/_7_1/_901_4/certificate.pdf?expires=1999999999&sig=abc',
          value: `${LMS}/webapps/bb-achievements/files/_12_1/_7_1/_901_4/certificate.pdf?expires=1999999999&sig=abc`,
        },
      },
      download: `${LMS}/webapps/bb-achievements/files/_12_1/_7_1/_901_4/certificate.pdf?expires=1999999999&sig=abc`,
    });
    expect(result.items[2]).toMatchObject({ outcome: 'badge', download: null });
    // Plain data: what the CLI prints is what it got.
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('with a profile that does not fit: no items, and candidates (repeated shapes, attributes, links)', () => {
    const result = inspectAchievementsPage(input());
    expect(result).toMatchObject({
      itemsFound: 0,
      items: [],
      matches: false,
      itemSelector: 'li.achievement',
    });
    const { repeated, links } = result.candidates!;
    const rows = repeated.find((c) => c.shape === 'tr.row');
    expect(rows).toMatchObject({ selector: 'tr.row', count: 3 });
    expect(rows!.attributes).toEqual([
      { name: 'data-record-id', samples: ['_901_4', '_902_1', '_903_1'] },
      { name: 'data-template', samples: ['_55_1'] },
    ]);
    expect(rows!.sampleText).toMatch(/^Fire safety 1 March 2026 Certificate PDF$/);
    // The row shape, which carries an attribute, comes before bare repeated cells.
    expect(repeated.indexOf(rows!)).toBeLessThan(repeated.findIndex((c) => c.shape === 'td.name'));
    expect(repeated.find((c) => c.shape === 'td.awarded')!.attributes[0]).toMatchObject({
      name: 'data-date',
    });
    expect(links[0]).toEqual({
      path: '/webapps/bb-achievements/files/{id}/{id}/{id}/certificate.pdf',
      query: ['expires', 'sig'],
      count: 2,
      samples: [
        '/webapps/bb-achievements/files/_12_1/_7_1/_901_4/certificate.pdf?expires=1999999999&sig=abc',
        '/webapps/bb-achievements/files/_12_1/_7_1/_902_1/certificate.pdf?expires=1999999999&sig=def',
      ],
      selector: 'a.dl',
    });
    expect(links.map((l) => l.path)).toContain('/webapps/help');
  });

  it('items without an id or a link bring candidates too; sizes stay bounded on a huge page', () => {
    const rows = Array.from(
      { length: 3000 },
      (_, i) =>
        `<li class="achievement x${i % 40}" data-n="${'v'.repeat(500)}${i}"><a href="/p/${i}?q${i}=1">a</a></li>`,
    ).join('');
    const result = inspectAchievementsPage({ ...input(), html: `<ul>${rows}</ul>` });
    expect(result.itemsFound).toBe(3000);
    expect(result.items).toHaveLength(50);
    expect(result.summary.skipped).toBe(3000);
    expect(result.items[0]!.fields.id).toEqual({
      raw: null,
      value: null,
      error:
        'not found (data-achievement-id of the item, or achievement_id in the link of a.achievement-certificate)',
    });
    expect(result.candidates!.repeated.length).toBeLessThanOrEqual(15);
    expect(result.candidates!.links.length).toBeLessThanOrEqual(15);
    expect(JSON.stringify(result).length).toBeLessThan(200_000);
  });

  it('says so when the page is the login form', () => {
    const result = inspectAchievementsPage({
      ...input(),
      html: '<form><input name="user_id"><input type="password" name="password"></form>',
    });
    expect(result).toMatchObject({ loginPage: true, itemsFound: 0, matches: false });
  });
});
