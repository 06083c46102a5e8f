import type { CheckResult } from './check.ts';

/** What `runDoctor` returns, and what `certharvest doctor --json` prints. */
export interface DoctorReport {
  /** No check failed (warnings and skipped checks do not count). */
  ok: boolean;
  /** The LMS checked, when the configuration names one. */
  lmsUrl: string | undefined;
  checks: CheckResult[];
}

/** The human output fits 80 columns. */
export const LINE_WIDTH = 80;
const NAME_WIDTH = 13;
const MARKS: Record<string, string> = { true: '✔', false: '✖', warn: '!', skipped: '-' };

/**
 * One check as text: `✔ name          what was found`, continued under itself, then `fix: …` for
 * a failure or a warning.
 */
export function formatResult(result: CheckResult, width = LINE_WIDTH): string {
  const head = `${MARKS[String(result.ok)]} ${result.name.padEnd(NAME_WIDTH)} `;
  const indent = ' '.repeat(head.length);
  const found = wrap(result.found, width - head.length);
  const lines = [head + (found[0] ?? ''), ...found.slice(1).map((l) => indent + l)];
  if (result.fix) lines.push(...wrap(`fix: ${result.fix}`, width - indent.length).map((l) => indent + l));
  return lines.join('\n');
}

/** The closing lines: counts, and which checks failed. */
export function formatSummary(report: DoctorReport, width = LINE_WIDTH): string {
  const count = (ok: CheckResult['ok']) => report.checks.filter((c) => c.ok === ok).length;
  const failed = report.checks.filter((c) => c.ok === false).map((c) => c.name);
  const warned = count('warn');
  const parts = [
    `${report.checks.length} checks: ${count(true)} passed`,
    ...(warned ? [`${warned} warning${warned === 1 ? '' : 's'}`] : []),
    `${failed.length} failed`,
    `${count('skipped')} skipped.`,
  ];
  const verdict = report.ok
    ? 'Nothing stands in the way of a harvest.'
    : `Fix first: ${failed.join(', ')} (the lines marked ✖ say how).`;
  return wrap(`${parts.join(', ')} ${verdict}`, width).join('\n');
}

/** The report as JSON, for machines: the same checks, in the same order. */
export function formatJson(report: DoctorReport): string {
  return JSON.stringify(report, null, 2);
}

/** Word-wrap to `width` columns; a word longer than a line (a URL) is cut across lines. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    let rest = word;
    while (rest.length > width) {
      if (line) lines.push(line);
      line = '';
      lines.push(rest.slice(0, width));
      rest = rest.slice(width);
    }
    if (!line) line = rest;
    else if (line.length + 1 + rest.length <= width) line += ` ${rest}`;
    else {
      lines.push(line);
      line = rest;
    }
  }
  if (line || lines.length === 0) lines.push(line);
  return lines;
}
