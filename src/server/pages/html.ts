// HTML: `html` escapes every value it is given but another `html` result, so a template cannot
// forget to.

/** Markup that is safe to put in a page as it is: made by `html` (or from a constant). */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text made safe for an element's content and for a quoted attribute value. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);

const renderValue = (v: HtmlValue): string =>
  v instanceof SafeHtml
    ? v.text
    : Array.isArray(v)
      ? v.map(renderValue).join('')
      : v === null || v === undefined || v === false || v === true
        ? ''
        : escapeHtml(String(v));

/** A template whose values are escaped (arrays joined; null, undefined and booleans left out). */
export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => (out += renderValue(v) + (strings[i + 1] ?? '')));
  return new SafeHtml(out);
}
