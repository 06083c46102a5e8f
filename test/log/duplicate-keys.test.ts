/**
 * No log line carries a key twice: JSON.parse keeps the last, but a log store such as
 * Elasticsearch rejects the whole line. The raw lines of a short pipeline run are scanned object
 * by object.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startPipeline, studentsWithCertificates, type Pipeline } from '../pipeline/harness.ts';

/**
 * The keys that appear more than once in one object of `text` (one JSON value), as `path.key`.
 * A small scanner: JSON.parse (and a reviver) only ever see the last of two equal keys.
 */
function duplicateKeys(text: string): string[] {
  const found: string[] = [];
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const str = (): string => {
    const start = i;
    i++; // the opening quote
    while (text[i] !== '"') {
      if (i >= text.length) throw new SyntaxError(`unterminated string at ${start}`);
      i += text[i] === '\\' ? 2 : 1;
    }
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const keys = new Set<string>();
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        const key = str();
        if (keys.has(key)) found.push(path ? `${path}.${key}` : key);
        keys.add(key);
        ws();
        if (text[i++] !== ':') throw new SyntaxError(`expected ':' at ${i - 1}`);
        value(path ? `${path}.${key}` : key);
        ws();
        const sep = text[i++];
        if (sep === '}') return;
        if (sep !== ',') throw new SyntaxError(`expected ',' or '}' at ${i - 1}`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`);
        ws();
        const sep = text[i++];
        if (sep === ']') return;
        if (sep !== ',') throw new SyntaxError(`expected ',' or ']' at ${i - 1}`);
      }
    }
    if (c === '"') return void str();
    const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) throw new SyntaxError(`unexpected ${JSON.stringify(c)} at ${i}`);
    i += m[0].length;
  };
  value('');
  ws();
  if (i !== text.length) throw new SyntaxError(`trailing text at ${i}`);
  return found;
}

let p: Pipeline | undefined;
afterEach(async () => {
  await p?.close().catch(() => {});
  p = undefined;
});

describe('duplicateKeys (the scanner)', () => {
  it('finds a key given twice, at any depth, and nothing in a clean line', () => {
    expect(duplicateKeys('{"component":"auth","mode":"x","component":"auth"}')).toEqual(['component']);
    expect(duplicateKeys('{"a":{"b":1,"b":2},"c":[{"d":1,"d":1}]}')).toEqual(['a.b', 'c[0].d']);
    expect(duplicateKeys('{"a":"{\\"a\\":1,\\"a\\":2}","b":[1,2,{"a":1}],"a2":null}')).toEqual([]);
    expect(() => duplicateKeys('{"a":1')).toThrow(SyntaxError);
  });
});

describe('log lines of a pipeline run', () => {
  for (const lms of ['brightspace', 'blackboard'] as const) {
    it(`carry no key twice (${lms})`, async () => {
      p = await startPipeline({ lms });
      const { batchId } = await p.submit({ users: studentsWithCertificates(p.sandbox, 2) });
      await p.waitDone(batchId);
      await p.close();
      const lines = p.logs
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== '');
      expect(lines.length).toBeGreaterThan(10);
      // Lines of the components that bound their name on an already named logger before.
      expect(lines.some((l) => l.includes('"component":"auth"'))).toBe(true);
      const bad = lines.flatMap((line) =>
        duplicateKeys(line).map((key) => `${key} in ${line.slice(0, 300)}`),
      );
      expect(bad).toEqual([]);
      p = undefined;
    });
  }
});
