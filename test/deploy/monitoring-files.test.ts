/**
 * deploy/prometheus/certharvest.rules.yml is a rules file `promtool check rules` accepts (its
 * structure, checked here without promtool), and it and the Grafana dashboard only use metric
 * names the worker and the board register.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createMetricsRegistry, registerQueueDepth } from '../../src/server/metrics.ts';
import { createWorkerMetrics } from '../../src/server/worker-health.ts';

const RULES = new URL('../../deploy/prometheus/certharvest.rules.yml', import.meta.url);
const DASHBOARD = new URL('../../deploy/grafana/certharvest-dashboard.json', import.meta.url);

/** Every series name the code exports, histogram series included; `up` is Prometheus's own. */
async function registeredNames(): Promise<Set<string>> {
  const worker = createWorkerMetrics({ pause: () => null });
  registerQueueDepth(worker.registry, []);
  const board = createMetricsRegistry([]);
  const names = new Set(['up']);
  for (const registry of [worker.registry, board]) {
    for (const metric of await registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (metric.type.toString() === 'histogram') {
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
      }
    }
  }
  return names;
}

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'bool', 'offset']);

/** The metric names a PromQL expression reads (labels, strings, ranges and functions left out). */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, '');
  return [...bare.matchAll(/(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()/g)]
    .map((m) => m[1]!)
    .filter((name) => !PROMQL_WORDS.has(name));
}

const DURATION = /^\d+(ms|s|m|h|d|w|y)$/;

describe('the Prometheus rules file', () => {
  it('has the structure promtool check rules wants', async () => {
    const doc = parse(await readFile(RULES, 'utf8')) as unknown;
    expect(doc).toMatchObject({ groups: expect.any(Array) });
    const { groups } = doc as { groups: Record<string, unknown>[] };
    expect(groups.length).toBeGreaterThan(0);
    const alerts = new Set<string>();
    for (const group of groups) {
      expect(Object.keys(group).every((k) => ['name', 'interval', 'limit', 'rules'].includes(k))).toBe(true);
      expect(group.name).toEqual(expect.any(String));
      expect(Array.isArray(group.rules) && group.rules.length > 0).toBe(true);
      for (const rule of group.rules as Record<string, unknown>[]) {
        const where = `rule ${JSON.stringify(rule.alert)}`;
        expect(
          Object.keys(rule).every((k) => ['alert', 'expr', 'for', 'labels', 'annotations'].includes(k)),
          where,
        ).toBe(true);
        expect(rule.alert, where).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
        expect(alerts.has(rule.alert as string), `${where} twice`).toBe(false);
        alerts.add(rule.alert as string);
        expect(typeof rule.expr === 'string' && rule.expr.trim() !== '', where).toBe(true);
        if (rule.for !== undefined) expect(rule.for, where).toMatch(DURATION);
        for (const map of [rule.labels, rule.annotations]) {
          if (map === undefined) continue;
          expect(typeof map === 'object' && map !== null && !Array.isArray(map), where).toBe(true);
          for (const [k, v] of Object.entries(map as object)) {
            expect(k, where).toMatch(/^[a-zA-Z_][a-zA-Z0-9_]*$/);
            expect(typeof v, where).toBe('string');
          }
        }
        expect((rule.labels as Record<string, string>).severity, where).toMatch(/^(critical|warning|info)$/);
        expect((rule.annotations as Record<string, string>).summary, where).toEqual(expect.any(String));
        // Balanced brackets: a cheap guard against a broken expression.
        const expr = rule.expr as string;
        for (const [open, close] of ['()', '{}', '[]']) {
          expect(expr.split(open!).length, `${where}: ${open}${close}`).toBe(expr.split(close!).length);
        }
      }
    }
  });

  it('reads only metrics the code registers', async () => {
    const names = await registeredNames();
    const doc = parse(await readFile(RULES, 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    const used = doc.groups.flatMap((g) => g.rules.flatMap((r) => metricNamesIn(r.expr)));
    expect(used).toContain('certharvest_fleet_paused');
    expect(used.filter((n) => !names.has(n))).toEqual([]);
  });
});

describe('the Grafana dashboard', () => {
  it('is importable (a Prometheus datasource input) and reads only metrics the code registers', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as {
      __inputs: { name: string; type: string; pluginId: string }[];
      panels: { type: string; title: string; datasource?: { uid: string }; targets?: { expr: string }[] }[];
    };
    expect(dashboard.__inputs).toContainEqual(
      expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }),
    );
    const names = await registeredNames();
    const panels = dashboard.panels.filter((p) => p.type !== 'row');
    const used = new Set<string>();
    for (const panel of panels) {
      expect(panel.datasource?.uid, panel.title).toBe('${DS_PROMETHEUS}');
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const t of panel.targets ?? []) for (const n of metricNamesIn(t.expr)) used.add(n);
    }
    expect([...used].filter((n) => !names.has(n))).toEqual([]);
    for (const needed of [
      'certharvest_downloads_total',
      'certharvest_lms_requests_total',
      'certharvest_lms_request_duration_seconds_bucket',
      'certharvest_queue_jobs',
      'certharvest_fleet_paused',
      'certharvest_token_expiry_seconds',
      'certharvest_webhook_deliveries_total',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
    ]) {
      expect(used, needed).toContain(needed);
    }
  });

  it('metricNamesIn leaves out labels, functions and ranges', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.95, sum by (le, route) (rate(a_bucket{x="y z"}[5m]))) > 5 and on (j) b',
      ),
    ).toEqual(['a_bucket', 'b']);
  });
});
