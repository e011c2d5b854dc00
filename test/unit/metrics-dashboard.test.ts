// deploy/grafana/lvsd.json: importable (datasource is a variable, ids unique, every panel placed and
// queried), and every metric its PromQL names is one lvsd actually serves: lvsd's specs (with histogram
// suffixes) or a process metric prom-client registers, as a real scrape of the registry shows them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALL_SPECS, createRegistry } from '../../src/metrics/index.js';
import { parseExposition } from '../../src/metrics/exposition.js';

interface Target { expr?: string; datasource?: { uid?: string } }
interface Panel { id: number; type: string; title: string; gridPos?: { h: number; w: number; x: number; y: number }; targets?: Target[]; panels?: Panel[]; datasource?: { uid?: string } }

const dashboard = JSON.parse(readFileSync(new URL('../../../deploy/grafana/lvsd.json', import.meta.url), 'utf8')) as {
  uid: string; title: string; panels: Panel[]; templating: { list: { name: string; type: string; query: unknown }[] };
  annotations: { list: { expr?: string; datasource?: { uid?: string } }[] };
};
const allPanels = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);

// PromQL words that are not metric names.
const PROMQL = new Set(['sum', 'max', 'min', 'avg', 'count', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'rate', 'irate', 'increase',
  'histogram_quantile', 'time', 'vector', 'or', 'and', 'unless', 'le', 'label_values', 'offset', 'bool', 'topk', 'bottomk', 'abs', 'clamp_min', 'delta']);

/** Metric names in a PromQL expression: identifiers outside label matchers, braces, strings and [ranges]. */
function metricNames(expr: string): string[] {
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '')
    .replace(/label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*\w+\s*\)/g, '$1'); // Grafana's label_values(metric, label)
  const names: string[] = [];
  const re = /[a-zA-Z_:][a-zA-Z0-9_:]*/g;
  for (let m = re.exec(bare); m; m = re.exec(bare)) {
    const word = m[0];
    const after = bare.slice(m.index + word.length).trimStart();
    const before = bare.slice(0, m.index).trimEnd();
    if (PROMQL.has(word) || /^\$/.test(word)) continue;
    if (/(by|without|on|ignoring)\s*\([^)]*$/.test(before)) continue; // a label list
    if (after.startsWith('(') && !PROMQL.has(word)) { names.push(`fn:${word}`); continue; }
    names.push(word);
  }
  return names;
}

test('the dashboard is importable: datasource variable, unique ids, placed panels with queries', () => {
  assert.equal(dashboard.uid, 'lvsd-overview');
  const ds = dashboard.templating.list.find((v) => v.type === 'datasource');
  assert.equal(ds?.name, 'datasource');
  assert.equal(ds?.query, 'prometheus');
  const panels = allPanels(dashboard.panels);
  assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids unique');
  for (const p of panels) {
    assert.ok(p.gridPos && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24, `${p.title}: gridPos`);
    if (p.type === 'row') continue;
    assert.ok(p.targets?.length, `${p.title}: no query`);
    assert.equal(p.datasource?.uid, '${datasource}', `${p.title}: datasource is the variable`);
    for (const t of p.targets!) {
      assert.equal(t.datasource?.uid, '${datasource}');
      assert.match(t.expr!, /instance=~"\$director"/, `${p.title}: filtered by the director variable`);
    }
  }
  const titles = panels.map((p) => p.title).join('\n');
  for (const want of [/VRRP state/, /Announcement state/, /Withdrawals by reason/, /Failovers/, /Real server health/, /Check results by reason/, /New connections per second/, /Throughput/, /Reloads/]) assert.match(titles, want);
});

test('every metric the dashboard queries is one lvsd serves', async () => {
  const { registry } = createRegistry({ config: undefined });
  const families = parseExposition(await registry.metrics());
  const served = new Set<string>();
  for (const f of families.values()) {
    served.add(f.name);
    if (f.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) served.add(f.name + s);
  }
  const exprs = [
    ...allPanels(dashboard.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr ?? '' }))),
    ...dashboard.annotations.list.filter((a) => a.expr).map((a) => ({ where: 'annotation', expr: a.expr! })),
    ...dashboard.templating.list.filter((v) => v.type === 'query').map((v) => ({ where: `variable ${v.name}`, expr: (v.query as { query: string }).query })),
  ];
  let seen = 0;
  for (const { where, expr } of exprs) {
    const names = metricNames(expr).filter((n) => !n.startsWith('fn:'));
    assert.ok(names.length || /^label_values/.test(expr), `${where}: no metric in ${expr}`);
    for (const n of names) { seen++; assert.ok(served.has(n), `${where}: ${n} is not a metric lvsd serves (in ${expr})`); }
    for (const f of metricNames(expr).filter((n) => n.startsWith('fn:'))) assert.fail(`${where}: unknown function ${f.slice(3)} in ${expr}`);
  }
  assert.ok(seen > 30, `checked ${seen} metric references`);
});

test('the name extractor finds metrics and skips labels, functions and strings', () => {
  assert.deepEqual(metricNames('sum by (instance, reason) (rate(lvsd_check_results_total{instance=~"$director", x="a b"}[$__rate_interval]))'), ['lvsd_check_results_total']);
  assert.deepEqual(metricNames('time() - lvsd_start_time_seconds{a="b"}'), ['lvsd_start_time_seconds']);
  assert.deepEqual(metricNames('foo_bar(x)'), ['fn:foo_bar', 'x']);
  assert.deepEqual(metricNames('label_values(lvsd_real_server_up{instance=~"$director"}, service)'), ['lvsd_real_server_up']);
});

test('deploy/prometheus/METRICS.md names exactly the metrics lvsd registers', () => {
  const doc = readFileSync(new URL('../../../deploy/prometheus/METRICS.md', import.meta.url), 'utf8');
  const expand = (t: string): string[] => {
    const m = /^(.*?)\{([^}]*)\}(.*)$/.exec(t);
    return m ? m[2]!.split(',').flatMap((alt) => expand(m[1]! + alt + m[3]!)) : [t];
  };
  const named = new Set<string>();
  // `lvsd_x{label, label}`: a label list at the end; `lvsd_{a,b}_total`: alternatives inside the name.
  for (const m of doc.matchAll(/`((?:lvsd|keepalived)_[a-z0-9_][^`*]*)`/g)) for (const n of expand(m[1]!.replace(/\{[^}]*\}$/, ''))) named.add(n);
  const registered = new Set(ALL_SPECS.map((s) => s.name));
  // The mapping table lists these exporter metrics as not published by lvsd.
  for (const n of ['keepalived_script_status', 'keepalived_script_state']) { assert.ok(named.delete(n)); assert.ok(!registered.has(n)); }
  for (const n of named) assert.ok(registered.has(n), `METRICS.md names ${n}, which lvsd does not register`);
  for (const n of registered) assert.ok(named.has(n), `METRICS.md does not mention ${n}`);
});
