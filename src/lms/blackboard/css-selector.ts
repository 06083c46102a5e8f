import { createRequire } from 'node:module';

/**
 * cheerio is read only when a selector is checked (every command loads the configuration, and
 * most never need it): synchronously, as `configure()` is synchronous.
 */
const requireHere = createRequire(import.meta.url);
const cheerio = (): typeof import('cheerio/slim') =>
  requireHere('cheerio/slim') as typeof import('cheerio/slim');

let probeDoc: import('cheerio/slim').CheerioAPI | undefined;
const probe = () => (probeDoc ??= cheerio().load('<p></p>'));

/** Why `value` is not a CSS selector cheerio can run, or undefined. */
export function selectorProblem(value: string): string | undefined {
  if (value.trim() === '') return 'is empty';
  try {
    probe()(value);
    return undefined;
  } catch (error) {
    return `is not a valid CSS selector (${(error as Error).message.trim() || 'parse error'})`;
  }
}
