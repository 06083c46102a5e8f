import { describe, expect, it } from 'vitest';
import { DownloadLinks } from '../../../src/lms/blackboard/download-links.ts';

const cert = (issuedId: string) => ({ userId: '_7_1', orgUnitId: '_12_1', issuedId });
const url = (n: number) => new URL(`https://learn.example.edu/cert/${n}`);

describe('DownloadLinks', () => {
  it('serves a link within its time to live, then no more', () => {
    const links = new DownloadLinks(1000);
    links.remember(cert('_1_1'), url(1), 5000);
    expect(links.fresh(cert('_1_1'), 5999)?.href).toBe(url(1).href);
    expect(links.fresh(cert('_1_1'), 6000)).toBeUndefined();
    expect(links.fresh(cert('_2_1'), 5000)).toBeUndefined();
  });

  it('keys by user, course and certificate, whatever the id types', () => {
    const links = new DownloadLinks(1000);
    links.remember({ userId: 7, orgUnitId: 12, issuedId: 1 }, url(1), 0);
    expect(links.fresh({ userId: '7', orgUnitId: '12', issuedId: '1' }, 1)?.href).toBe(url(1).href);
    expect(links.fresh({ userId: '8', orgUnitId: '12', issuedId: '1' }, 1)).toBeUndefined();
  });

  it('forgets the oldest first beyond its bound; remembering again makes a link the newest', () => {
    const links = new DownloadLinks(1000, 2);
    links.remember(cert('a'), url(1), 0);
    links.remember(cert('b'), url(2), 0);
    links.remember(cert('a'), url(3), 0);
    links.remember(cert('c'), url(4), 0);
    expect(links.fresh(cert('b'), 1)).toBeUndefined();
    expect(links.fresh(cert('a'), 1)?.href).toBe(url(3).href);
    expect(links.fresh(cert('c'), 1)?.href).toBe(url(4).href);
  });
});
