/** The users file is decoded by its byte-order mark; a file that is not text is refused, saying what it is. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeTextFile, firstInvalidUtf8, readTextFile } from '../../src/cli/read-text-file.ts';
import { UsageError } from '../../src/errors/index.ts';
import { tempDir } from '../helpers/index.ts';

const LABEL = '--file students.csv';
const TEXT = 'userName\tname\njdoe\tJöhn Doe\nzoë\tZoë 李\n';
const decode = (bytes: Uint8Array) => decodeTextFile(bytes, LABEL);

/** The problem `decode` refuses `bytes` with (a UsageError naming the file). */
function refusal(bytes: Uint8Array): string {
  try {
    decode(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message.startsWith(`${LABEL}: `)).toBe(true);
    return (err as Error).message;
  }
  throw new Error('not refused');
}

const utf16be = (text: string) => {
  const le = Buffer.from(text, 'utf16le');
  for (let i = 0; i + 1 < le.length; i += 2) [le[i], le[i + 1]] = [le[i + 1]!, le[i]!];
  return le;
};

describe('decodeTextFile', () => {
  it('reads UTF-8 with and without a byte-order mark', () => {
    expect(decode(Buffer.from(TEXT))).toEqual({ text: TEXT, encoding: 'utf-8' });
    expect(decode(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(TEXT)]))).toEqual({
      text: TEXT,
      encoding: 'utf-8-bom',
    });
    expect(decode(new Uint8Array())).toEqual({ text: '', encoding: 'utf-8' });
  });

  it('reads UTF-16LE with a BOM (Excel\'s "Unicode text") and UTF-16BE with a BOM', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(TEXT, 'utf16le')]);
    expect(decode(le)).toEqual({ text: TEXT, encoding: 'utf-16le' });
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(TEXT)]);
    expect(decode(be)).toEqual({ text: TEXT, encoding: 'utf-16be' });
    // Characters beyond the BMP (surrogate pairs) too.
    expect(decode(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a😀\n', 'utf16le')])).text).toBe(
      'a😀\n',
    );
  });

  it('refuses damaged UTF-16: an odd byte at the end, a lone surrogate', () => {
    expect(refusal(Buffer.from([0xff, 0xfe, 0x41, 0x00, 0x42]))).toMatch(/not valid UTF-16LE text/);
    expect(refusal(Buffer.from([0xfe, 0xff, 0xd8, 0x00, 0x00, 0x41]))).toMatch(/not valid UTF-16BE text/);
  });

  it('refuses a file that is not valid UTF-8, naming the byte and its line', () => {
    const latin1 = Buffer.from('userName\njdoe\nzo\xeb\n', 'latin1');
    expect(refusal(latin1)).toMatch(
      /not UTF-8 text \(byte 0xEB on line 3: saved as Windows-1252 or Latin-1\?/,
    );
    // Overlong forms and encoded surrogates are not UTF-8 either.
    expect(refusal(Buffer.from([0x61, 0xc0, 0xaf]))).toMatch(/byte 0xC0 on line 1/);
    expect(refusal(Buffer.from([0xed, 0xa0, 0x80]))).toMatch(/byte 0xED/);
  });

  it('refuses binary files: NUL bytes, a workbook, a PDF, control characters', () => {
    expect(refusal(Buffer.from([0x61, 0x00, 0x62, 0x63, 0x00, 0x00, 0x01, 0x02]))).toBe(
      `${LABEL}: not a text file (it holds NUL bytes: a spreadsheet? export it as CSV (UTF-8))`,
    );
    const xlsx = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(20)]);
    expect(refusal(xlsx)).toMatch(/not a text file \(a spreadsheet or other archive, such as \.xlsx/);
    expect(refusal(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1]))).toMatch(/\.xls/);
    expect(refusal(Buffer.from('%PDF-1.7\n'))).toMatch(/not a text file \(a PDF\)/);
    expect(refusal(Buffer.from('jdoe\n\x1b[31mx\n'))).toMatch(/control character 0x1B on line 2/);
    // A NUL inside UTF-16 text is binary too.
    expect(refusal(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a\0b', 'utf16le')]))).toMatch(
      /NUL characters/,
    );
  });

  it('says so when it meets UTF-16 without a byte-order mark', () => {
    expect(refusal(Buffer.from('userName\njdoe\n', 'utf16le'))).toMatch(
      /UTF-16 text without a byte-order mark: save it as UTF-8/,
    );
    expect(refusal(utf16be('userName\njdoe\n'))).toMatch(/UTF-16 text without a byte-order mark/);
  });

  it('firstInvalidUtf8 finds the first byte outside a well-formed sequence', () => {
    expect(firstInvalidUtf8(Buffer.from('aé李😀'))).toBe(Buffer.from('aé李😀').length);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xe6, 0x9d]))).toBe(1); // cut short
    expect(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // past U+10FFFF
  });
});

describe('readTextFile', () => {
  it('reads and decodes a file; a missing one is a UsageError naming it', async () => {
    const { dir, cleanup } = await tempDir('read-text');
    try {
      const file = path.join(dir, 'users.txt');
      await writeFile(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('jdoe\r\n', 'utf16le')]));
      expect(await readTextFile(file, '--file users.txt')).toBe('jdoe\r\n');
      await expect(readTextFile(path.join(dir, 'nope.csv'), '--file nope.csv')).rejects.toThrow(
        /^--file nope\.csv: cannot read it \(no such file\)$/,
      );
      await expect(readTextFile(dir, '--file dir')).rejects.toThrow(
        /--file dir: cannot read it \(a folder\)/,
      );
    } finally {
      await cleanup();
    }
  });
});
