/**
 * A text file as people hand it over: UTF-8 with or without a byte-order mark, or UTF-16 with one
 * (Excel's "Unicode text" is UTF-16LE with a BOM, tab-separated). Anything else — a workbook, a
 * PDF, text saved as Latin-1 — is refused, naming the file and what it seems to be, instead of
 * being read as garbled references.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors/index.ts';

/** How a file's bytes were read. */
export type TextEncoding = 'utf-8' | 'utf-8-bom' | 'utf-16le' | 'utf-16be';

const EXPORT_AS_CSV = 'export it as CSV (UTF-8)';

/**
 * Decode a text file's bytes by its byte-order mark (UTF-8 without one). `label` names the file
 * in the error, e.g. `--file students.xlsx`.
 */
export function decodeTextFile(bytes: Uint8Array, label: string): { text: string; encoding: TextEncoding } {
  const refuse = (problem: string) => new UsageError(`${label}: ${problem}`);
  const starts = (...prefix: number[]) => prefix.every((b, i) => bytes[i] === b);

  if (starts(0x50, 0x4b, 0x03, 0x04) || starts(0xd0, 0xcf, 0x11, 0xe0))
    throw refuse(`not a text file (a spreadsheet or other archive, such as .xlsx or .xls: ${EXPORT_AS_CSV})`);
  if (starts(0x25, 0x50, 0x44, 0x46)) throw refuse('not a text file (a PDF)');
  if (starts(0xff, 0xfe, 0x00, 0x00) || starts(0x00, 0x00, 0xfe, 0xff))
    throw refuse('UTF-32 text, which is not supported: save it as UTF-8');

  let text: string;
  let encoding: TextEncoding;
  if (starts(0xef, 0xbb, 0xbf)) {
    encoding = 'utf-8-bom';
    text = decodeUtf8(bytes.subarray(3), 3, bytes, refuse);
  } else if (starts(0xff, 0xfe) || starts(0xfe, 0xff)) {
    encoding = bytes[0] === 0xff ? 'utf-16le' : 'utf-16be';
    const body = bytes.subarray(2);
    // TextDecoder's fatal mode refuses a lone surrogate and an odd byte at the end.
    const le = encoding === 'utf-16le' ? body : swapPairs(body);
    try {
      text = new TextDecoder('utf-16le', { fatal: true, ignoreBOM: true }).decode(le);
    } catch {
      throw refuse(
        `not valid ${encoding === 'utf-16le' ? 'UTF-16LE' : 'UTF-16BE'} text (a cut or damaged file?)`,
      );
    }
  } else {
    encoding = 'utf-8';
    const nul = bytes.indexOf(0);
    if (nul >= 0) {
      throw refuse(
        looksLikeUtf16WithoutBom(bytes)
          ? 'UTF-16 text without a byte-order mark: save it as UTF-8 (or as "Unicode text", which has one)'
          : `not a text file (it holds NUL bytes: a spreadsheet? ${EXPORT_AS_CSV})`,
      );
    }
    text = decodeUtf8(bytes, 0, bytes, refuse);
  }

  const nul = text.indexOf('\0');
  if (nul >= 0) throw refuse(`not a text file (it holds NUL characters: a spreadsheet? ${EXPORT_AS_CSV})`);
  // Tab, line feed, carriage return and form feed occur in text; other controls mean binary data.
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  const control = /[\x01-\x08\x0b\x0e-\x1f\x7f]/.exec(text);
  if (control) {
    const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
    throw refuse(
      `not a text file (control character 0x${code} on line ${lineAt(text, control.index)}: a binary file?)`,
    );
  }
  return { text, encoding };
}

/**
 * Read a text file (`-`: all of stdin) and decode it as `decodeTextFile` does. A file that cannot
 * be read is a `UsageError` naming it and why.
 */
export async function readTextFile(file: string, label = file): Promise<string> {
  let bytes: Uint8Array;
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    bytes = Buffer.concat(chunks);
  } else {
    try {
      bytes = await readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new UsageError(
        `${label}: cannot read it (${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder' : (code ?? (err as Error).message)})`,
      );
    }
  }
  return decodeTextFile(bytes, label).text;
}

/** `bytes` as UTF-8 (fatal), or a refusal naming the first byte that is not UTF-8 and its line. */
function decodeUtf8(
  body: Uint8Array,
  skipped: number,
  whole: Uint8Array,
  refuse: (problem: string) => UsageError,
): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    const at = skipped + firstInvalidUtf8(body);
    const byte = (whole[at] ?? 0).toString(16).toUpperCase().padStart(2, '0');
    let line = 1;
    for (let i = 0; i < at; i++) if (whole[i] === 0x0a) line++;
    throw refuse(
      `not UTF-8 text (byte 0x${byte} on line ${line}: saved as Windows-1252 or Latin-1? ` +
        'save it as UTF-8, e.g. Excel\'s "CSV UTF-8")',
    );
  }
}

/** The offset of the first byte that does not belong to a well-formed UTF-8 sequence. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let n: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [n, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [n, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [n, min] = [3, 0x10000];
    else return i;
    let cp = b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8 either.
    if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return i;
    i += n + 1;
  }
  return bytes.length;
}

/** ASCII text as UTF-16 has a NUL in every other byte. */
function looksLikeUtf16WithoutBom(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 512);
  if (sample.length < 4) return false;
  let even = 0;
  let odd = 0;
  sample.forEach((b, i) => {
    if (b === 0) {
      if (i % 2 === 0) even++;
      else odd++;
    }
  });
  const half = sample.length / 2;
  return (odd > half * 0.8 && even === 0) || (even > half * 0.8 && odd === 0);
}

function swapPairs(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    out[i] = bytes[i + 1]!;
    out[i + 1] = bytes[i]!;
  }
  // An odd last byte stays odd, so the decoder refuses it as for UTF-16LE.
  if (bytes.length % 2 === 1) out[bytes.length - 1] = bytes[bytes.length - 1]!;
  return out;
}

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
