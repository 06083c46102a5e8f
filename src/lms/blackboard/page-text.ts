/** Values as a Learn page gives them, made safe to carry: text on one line, dates, a shown value. */

// eslint-disable-next-line no-control-regex
const CONTROL_OR_SPACE = /[\u0000-\u001f\u007f\s]+/g;

/** Text on one line (control characters and runs of space collapsed), bounded. */
export function cleanText(text: string, max: number): string {
  const flat = text.replace(CONTROL_OR_SPACE, ' ').trim();
  return flat.length > max ? flat.slice(0, max) : flat;
}

const MONTHS = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
];

/**
 * A date as UTC ISO: ISO 8601 (a time without a zone is UTC), or a day written out, "1 March 2026"
 * or "March 1, 2026" (midnight UTC); undefined when it is neither.
 */
export function parseDate(raw: string): string | undefined {
  let text = raw.trim();
  const written =
    /^(\d{1,2})\s+([a-z]+)\.?\s+(\d{4})$/i.exec(text) ?? /^([a-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})$/i.exec(text);
  if (written) {
    const [day, month] = /^\d/.test(written[1]!) ? [written[1]!, written[2]!] : [written[2]!, written[1]!];
    const m = MONTHS.findIndex((name) => month.length >= 3 && name.startsWith(month.toLowerCase()));
    const d = Number(day);
    const y = Number(written[3]);
    const date = new Date(Date.UTC(y, m, d));
    if (m < 0 || date.getUTCDate() !== d || date.getUTCMonth() !== m) return undefined;
    return date.toISOString();
  }
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(text))
    return undefined;
  if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/i.test(text)) text += 'Z';
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** A value from the page as it may appear in a message: JSON, at most 60 characters. */
export const shown = (input: unknown): string => {
  const text = JSON.stringify(input) ?? String(input);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};
