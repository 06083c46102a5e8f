/** File names of LMS ids: reversible, filesystem-safe, and Brightspace's names unchanged. */
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lmsIdSchema, type LmsId } from '../../src/certificate/index.ts';
import { partialShard } from '../../src/storage/atomic-write.ts';
import {
  certificateKey,
  certificatePaths,
  decodeIdFromFileName,
  encodeIdForFileName,
  MAX_ID_NAME_BYTES,
  UnsafeIdError,
} from '../../src/storage/index.ts';

const SAFE_NAME = /^(?:[a-z0-9_.]|~[0-9A-F]{2})+$/;
const WINDOWS_DEVICE = /^(?:con|prn|aux|nul|com[0-9]|lpt[0-9])(?:\.|$)/i;

/** What a name must be whatever the id: a single, portable, visible path segment. */
function expectSafeName(name: string): void {
  expect(name).toMatch(SAFE_NAME);
  expect(name).not.toMatch(/^\./);
  expect(name).not.toMatch(/\.$/);
  expect(name).not.toMatch(WINDOWS_DEVICE);
  expect(name).not.toMatch(/^_[a-z]/);
  expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_ID_NAME_BYTES);
}

/** Ids sampled from the whole input space: ASCII soup, unicode, Learn-like, path-like. */
function randomIds(n: number): string[] {
  const alphabet = 'aZ09_.-/\\%~ :CON()é✓😀\u00a0';
  const chars = [...alphabet];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = 1 + (randomBytes(1)[0]! % 16); // at most 16 × 12 bytes: always short enough
    out.push(
      Array.from(randomBytes(len))
        .map((b) => chars[b % chars.length])
        .join(''),
    );
  }
  return out;
}

const notable: LmsId[] = [
  '_123_4',
  '_45_1',
  randomUUID(),
  '7F3C2A10-9B1E-4C5D-8E7F-0A1B2C3D4E5F',
  'Grüße 😀 日本',
  '..',
  '.',
  '.hidden',
  'trailing.',
  'a/b',
  'a\\b',
  '../../etc/passwd',
  'CON',
  'con',
  'nul.txt',
  'com1',
  '_batches',
  '007',
  '0',
  '12345678901234567890',
  '1e3',
  '-1',
  'x~41',
  '%2F',
  'a:b',
  ' ',
  'A'.repeat(66),
];

describe('encodeIdForFileName / decodeIdFromFileName', () => {
  it('leaves whole numbers as they are, so Brightspace names do not change', () => {
    for (const n of [1, 42, 6606, 1001, Number.MAX_SAFE_INTEGER]) {
      expect(encodeIdForFileName(n)).toBe(String(n));
      expect(encodeIdForFileName(String(n))).toBe(String(n));
      expect(decodeIdFromFileName(String(n))).toBe(n);
    }
  });

  it('writes the documented examples', () => {
    expect(encodeIdForFileName('_123_4')).toBe('_123_4');
    expect(encodeIdForFileName('A-b')).toBe('~41~2Db');
    expect(encodeIdForFileName('é')).toBe('~C3~A9');
    expect(encodeIdForFileName('..')).toBe('~2E~2E');
    expect(encodeIdForFileName('a/b')).toBe('a~2Fb');
    expect(encodeIdForFileName('007')).toBe('~3007');
    expect(encodeIdForFileName('con')).toBe('~63on');
    expect(encodeIdForFileName('CON')).toBe('~43~4F~4E');
    expect(encodeIdForFileName('_batches')).toBe('~5Fbatches');
    expect(encodeIdForFileName('~')).toBe('~7E');
  });

  it('round-trips every id, into a safe name', () => {
    for (const id of [...notable, ...randomIds(2000)]) {
      const name = encodeIdForFileName(id);
      expectSafeName(name);
      const back = decodeIdFromFileName(name);
      // A digit string without a leading zero is the whole number it spells.
      expect(back).toEqual(typeof id === 'string' && /^[1-9]\d{0,15}$/.test(id) ? Number(id) : id);
      expect(lmsIdSchema.safeParse(back).success).toBe(true);
    }
  });

  it('gives distinct ids distinct names, even on a case-insensitive filesystem', () => {
    const ids = [...new Set([...notable.map(String), ...randomIds(3000), 'a', 'A', 'ab', 'aB', 'Ab'])];
    const folded = new Map<string, string>();
    for (const id of ids) {
      const key = encodeIdForFileName(id).toLowerCase();
      expect(folded.get(key) ?? id, `${id} and ${folded.get(key)} share ${key}`).toBe(id);
      folded.set(key, id);
    }
  });

  it.each([
    [''],
    [0],
    [-3],
    [1.5],
    [2 ** 60],
    [Number.NaN],
    [null],
    ['a\nb'],
    ['\u0000'],
    ['\u0085'],
    ['\uD800x'],
  ])('refuses %j with UnsafeIdError', (bad) => {
    expect(() => encodeIdForFileName(bad as unknown as LmsId)).toThrow(UnsafeIdError);
    expect(lmsIdSchema.safeParse(bad).success).toBe(false);
  });

  it('refuses an id whose name would be too long, naming the field', () => {
    expect(encodeIdForFileName('a'.repeat(200))).toHaveLength(200);
    const long = 'A'.repeat(67); // 201 bytes once escaped
    expect(lmsIdSchema.safeParse(long).success).toBe(true);
    expect(() => encodeIdForFileName(long, 'issuedId')).toThrow(
      /^issuedId cannot name a file: its file name would be 201 bytes/,
    );
    expect(() => encodeIdForFileName('a'.repeat(201))).toThrow(UnsafeIdError);
  });

  it('reads no id from names it would not write', () => {
    for (const name of [
      '',
      '0',
      '007',
      '~312',
      '~3',
      'A',
      'a-b',
      '..',
      '.',
      '~2e',
      'ab~',
      '~ZZ',
      '.x',
      'con',
      '~C3',
      '_batches',
      'a~2E~2E',
    ])
      expect(decodeIdFromFileName(name), name).toBeNull();
    expect(decodeIdFromFileName('a.~2E')).toBe('a..');
  });
});

describe('certificatePaths', () => {
  it('keeps Brightspace paths exactly as before', () => {
    const p = certificatePaths('/out', { userId: 101, orgUnitId: 6606, issuedId: 42 });
    expect(p).toEqual({
      dir: '/out/101',
      pdf: '/out/101/6606-42.pdf',
      sidecar: '/out/101/6606-42.json',
      stem: '6606-42',
    });
  });

  it('names string ids by their encoding, one folder below OUTPUT_DIR', () => {
    const uuid = '7f3c2a10-9b1e-4c5d-8e7f-0a1b2c3d4e5f';
    const p = certificatePaths('/out', { userId: '_45_1', orgUnitId: uuid, issuedId: '_123_4' });
    expect(p.pdf).toBe('/out/_45_1/7f3c2a10~2D9b1e~2D4c5d~2D8e7f~2D0a1b2c3d4e5f-_123_4.pdf');
    for (const ids of [
      { userId: '..', orgUnitId: '../..', issuedId: '/etc/passwd' },
      { userId: '.', orgUnitId: 'a/b', issuedId: 'C:\\x' },
    ]) {
      const q = certificatePaths('/out', ids);
      expect(path.dirname(path.dirname(q.pdf))).toBe('/out');
      expect(path.basename(q.dir)).toBe(encodeIdForFileName(ids.userId));
    }
  });

  it('refuses ids whose file name would pass 255 bytes', () => {
    const long = 'a'.repeat(200);
    expect(() => certificatePaths('/out', { userId: 1, orgUnitId: long, issuedId: long })).toThrow(
      UnsafeIdError,
    );
    expect(
      certificatePaths('/out', { userId: 1, orgUnitId: long, issuedId: 'a'.repeat(49) }).stem,
    ).toHaveLength(250);
  });
});

describe('certificateKey', () => {
  it('is unchanged for Brightspace', () => {
    expect(certificateKey('school.example', { orgUnitId: 6606, issuedId: 42 })).toBe(
      'school.example:6606:42',
    );
  });

  it('cannot be shared by two certificates through a ":" in an id', () => {
    const a = certificateKey('h', { orgUnitId: 'x:y', issuedId: 'z' });
    const b = certificateKey('h', { orgUnitId: 'x', issuedId: 'y:z' });
    expect(a).not.toBe(b);
    expect(a.split(':')).toHaveLength(3);
    expect(certificateKey('h:8443', { orgUnitId: '_7_1', issuedId: '_123_4' })).toBe('h:8443:_7_1:_123_4');
  });
});

describe('partialShard', () => {
  it('keeps whole numbers in their old shard and spreads string ids', () => {
    expect(partialShard(101)).toBe((101 % 32).toString(16).padStart(2, '0'));
    const shards = new Set(Array.from({ length: 500 }, (_, i) => partialShard(`_${i}_1`)));
    expect(shards.size).toBeGreaterThan(16);
    for (const s of shards) expect(s).toMatch(/^[0-9a-f]{2}$/);
  });
});
