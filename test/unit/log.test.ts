import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, formatText, isJournalStream, loggerFromConfig, resolveFormat, toLogValue, type LogSink } from '../../src/log/index.js';
import { NetlinkError } from '../../src/netlink/errors.js';

process.env.TZ = 'UTC'; // the text form prints local time; pin it
const T0 = Date.UTC(2026, 0, 1, 12, 0, 1, 123); // 12:00:01.123

function capture(opts: { tty?: boolean; writableLength?: () => number } = {}) {
  const lines: string[] = [];
  const sink: LogSink & { lines: string[] } = {
    lines,
    isTTY: opts.tty ?? false,
    get writableLength() { return opts.writableLength ? opts.writableLength() : 0; },
    write(s: string) { lines.push(s); return true; },
  };
  return sink;
}
const parse = (lines: string[]) => lines.map((l) => { assert.ok(l.endsWith('\n') && l.indexOf('\n') === l.length - 1, `one line: ${JSON.stringify(l)}`); return JSON.parse(l); });

test('JSON lines: ts, level, msg first, then bound and call fields; one object per line', () => {
  const sink = capture();
  const log = createLogger({ sink, format: 'json', now: () => T0 });
  const vrrp = log.child({ component: 'vrrp', instance: 'VI_1' });
  vrrp.transition('backup', 'master', 'master down interval expired', { priority: 100 });
  vrrp.warn('multi\nline "msg"', { instance: 'VI_2', errno: 17, code: 'EEXIST' });
  assert.equal(sink.lines[0], '{"ts":"2026-01-01T12:00:01.123Z","level":"info","msg":"backup -> master","component":"vrrp","instance":"VI_1","priority":100,"from":"backup","to":"master","reason":"master down interval expired"}\n');
  const [, w] = parse(sink.lines);
  assert.deepEqual(w, { ts: '2026-01-01T12:00:01.123Z', level: 'warn', msg: 'multi\nline "msg"', component: 'vrrp', instance: 'VI_2', errno: 17, code: 'EEXIST' });
  assert.deepEqual(Object.keys(w).slice(0, 3), ['ts', 'level', 'msg']);
});

test('a field named ts, level or msg cannot overwrite the frame; it is kept with a _ prefix', () => {
  const sink = capture();
  createLogger({ sink, format: 'json', now: () => T0 }).child({ level: 'x' }).info('real', { ts: 5, msg: 'fake' });
  assert.deepEqual(parse(sink.lines)[0], { ts: '2026-01-01T12:00:01.123Z', level: 'info', msg: 'real', _level: 'x', _ts: 5, _msg: 'fake' });
});

test('a field named __proto__ (JSON.parse makes them) stays a field, at the top and nested', () => {
  const sink = capture();
  const hostile = JSON.parse('{"__proto__": {"polluted": 1}, "peer": {"__proto__": "x"}}');
  createLogger({ sink, format: 'json' }).child(hostile).info('m', hostile);
  const line = sink.lines[0]!;
  assert.match(line, /"__proto__":\{"polluted":1\}/);
  assert.match(line, /"peer":\{"__proto__":"x"\}/);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('text form: the issue\'s example line, reason in parentheses, other fields key=value', () => {
  const sink = capture({ tty: true });
  const log = createLogger({ sink, format: 'auto', now: () => T0 });
  log.child({ component: 'vrrp', instance: 'VI_1' }).transition('backup', 'master', 'master down interval expired');
  log.child({ component: 'checker' }).warn('check failed', { target: '192.0.2.1:80', reason: 'connection refused', attempts: 3, note: 'two words', empty: '' });
  log.error('no component', { err: new NetlinkError(17, { message: 'ipv4: Address already assigned' }) });
  log.debug('hidden');
  assert.deepEqual(sink.lines, [
    '12:00:01.123 INFO vrrp[VI_1] backup -> master (master down interval expired)\n',
    '12:00:01.123 WARN checker check failed (connection refused) target=192.0.2.1:80 attempts=3 note="two words" empty=""\n',
    '12:00:01.123 ERROR no component err="NetlinkError: ipv4: Address already assigned (EEXIST, errno 17)"\n',
  ]);
});

test('text form escapes control characters so one record never looks like two', () => {
  const line = formatText({ time: T0, level: 'info', msg: 'a\nb\r\u0007', fields: { 'k\n': 'x\ny', component: 'c\nd' } }, { timestamp: false });
  assert.equal(line, 'INFO c\\nd a\\nb\\r\\u0007 k\\n="x\\ny"\n');
  assert.equal(line.split('\n').length, 2);
});

test('levels: threshold, enabled(), configure() reaches parent and children, bad levels ignored', () => {
  const sink = capture();
  const root = createLogger({ sink, format: 'json', level: 'warn' });
  const child = root.child({ component: 'ipvs' });
  child.debug('d'); child.info('i'); child.warn('w'); child.error('e');
  assert.deepEqual(parse(sink.lines).map((r) => r.level), ['warn', 'error']);
  assert.equal(child.enabled('info'), false);
  child.configure({ level: 'debug' });
  assert.equal(root.enabled('debug'), true);
  root.debug('now visible');
  root.configure({ level: 'loud' as never });
  root.debug('still visible');
  root.log('nonsense' as never, 'unknown level logs as error');
  assert.deepEqual(parse(sink.lines).map((r) => r.msg), ['w', 'e', 'now visible', 'still visible', 'unknown level logs as error']);
  assert.equal(parse(sink.lines)[4].level, 'error');
  sink.lines.length = 0;
  const cfg = loggerFromConfig({ level: 'error', format: 'text' }, { sink, now: () => T0 });
  cfg.warn('no'); cfg.error('yes');
  assert.deepEqual(sink.lines, ['12:00:01.123 ERROR yes\n']);
  cfg.configure({ format: 'json' });
  cfg.error('json now');
  assert.equal(parse(sink.lines.slice(1))[0].msg, 'json now');
});

test('child fields: bound once, call fields win, the child\'s object may change later without effect', () => {
  const sink = capture();
  const bound: Record<string, unknown> = { component: 'checker', check: 'web' };
  const c = createLogger({ sink, format: 'json' }).child(bound).child({ target: '10.0.0.1:80' });
  bound.check = 'changed';
  c.info('a', { target: '10.0.0.2:80', skipped: undefined });
  const r = parse(sink.lines)[0];
  assert.equal(r.check, 'web');
  assert.equal(r.target, '10.0.0.2:80');
  assert.ok(!('skipped' in r));
});

test('format resolution: auto is text on a terminal, JSON elsewhere and under journald; no timestamp under journald', () => {
  assert.deepEqual(resolveFormat('auto', { tty: true, journald: false }), { kind: 'text', timestamp: true });
  assert.deepEqual(resolveFormat('auto', { tty: false, journald: false }), { kind: 'json', timestamp: true });
  assert.deepEqual(resolveFormat('auto', { tty: true, journald: true }), { kind: 'json', timestamp: false });
  assert.deepEqual(resolveFormat('text', { tty: false, journald: true }), { kind: 'text', timestamp: false });
  assert.deepEqual(resolveFormat('json', { tty: true, journald: false }), { kind: 'json', timestamp: true });
  const sink = capture({ tty: true });
  createLogger({ sink, format: 'text', journald: true, now: () => T0 }).info('x', { component: 'daemon' });
  assert.deepEqual(sink.lines, ['INFO daemon x\n']);
});

test('isJournalStream: JOURNAL_STREAM counts only when it names the very fd', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-log-'));
  const fd = openSync(join(dir, 'f'), 'w');
  const other = openSync(join(dir, 'g'), 'w');
  try {
    const st = fstatSync(fd);
    assert.equal(isJournalStream({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, fd), true);
    assert.equal(isJournalStream({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, other), false);
    assert.equal(isJournalStream({ JOURNAL_STREAM: 'garbage' }, fd), false);
    assert.equal(isJournalStream({}, fd), false);
    assert.equal(isJournalStream({ JOURNAL_STREAM: `${st.dev}:${st.ino}` }, 987654), false);
  } finally {
    closeSync(fd); closeSync(other);
  }
});

test('bad fields never throw: cycles, bigint, throwing getters, hostile proxies, symbols, deep and huge values', () => {
  const sink = capture();
  const log = createLogger({ sink, format: 'json' });
  const cyclic: Record<string, unknown> = { name: 'a' };
  cyclic.self = cyclic;
  const shared = { x: 1 };
  const getter = Object.defineProperty({}, 'bad', { enumerable: true, get() { throw new Error('nope'); } });
  const hostile = new Proxy({}, { ownKeys() { throw new Error('no keys'); } });
  let deep: Record<string, unknown> = {};
  const root = deep;
  for (let i = 0; i < 20; i++) { deep.d = {}; deep = deep.d as Record<string, unknown>; }
  const badJson = { toJSON() { throw new Error('toJSON fails'); } };
  const badString = { [Symbol.toPrimitive]() { throw new Error('no string'); } };
  const fields = {
    cyclic, both: [shared, shared], big: 2n ** 64n, getter, hostile, sym: Symbol('s'), fn: function named() {}, nan: NaN, inf: -Infinity,
    deep: root, huge: 'x'.repeat(10_000), buf: Buffer.from([0xde, 0xad]), map: new Map([['k', 1n]]), set: new Set([1, 2]),
    date: new Date(T0), badDate: new Date(NaN), badJson, long: Array.from({ length: 500 }, (_, i) => i),
  };
  assert.doesNotThrow(() => log.error('bad fields', fields));
  assert.doesNotThrow(() => log.error('hostile fields object', hostile as never));
  assert.doesNotThrow(() => log.error(badString as never));
  assert.doesNotThrow(() => log.info('null fields', null as never));
  assert.doesNotThrow(() => log.child(hostile as never).info('hostile child'));
  const [r, h, s, n, c] = parse(sink.lines);
  assert.deepEqual(r.cyclic, { name: 'a', self: '[circular]' });
  assert.deepEqual(r.both, [{ x: 1 }, { x: 1 }]);
  assert.equal(r.big, '18446744073709551616');
  assert.deepEqual(r.getter, { bad: '[throws: nope]' });
  assert.match(r.hostile, /^\[unserializable: no keys\]$/);
  assert.equal(r.sym, 'Symbol(s)');
  assert.equal(r.fn, '[function named]');
  assert.deepEqual([r.nan, r.inf], ['NaN', '-Infinity']);
  assert.match(JSON.stringify(r.deep), /\[too deep\]/);
  assert.equal(r.huge.length < 4200 && r.huge.endsWith('...(+5904 chars)'), true);
  assert.equal(r.buf, 'dead');
  assert.deepEqual(r.map, { k: '1' });
  assert.deepEqual(r.set, [1, 2]);
  assert.deepEqual([r.date, r.badDate], ['2026-01-01T12:00:01.123Z', 'Invalid Date']);
  assert.match(r.badJson, /unserializable: toJSON fails/);
  assert.equal(r.long.length, 201);
  assert.equal(h.msg, 'hostile fields object');
  assert.match(s.msg, /^\[unprintable: no string\]$/);
  assert.equal(n.msg, 'null fields');
  assert.equal(c.msg, 'hostile child');
});

test('Errors keep name, message, code, errno, the kernel\'s extended ACK and the cause; stacks only for untyped errors', () => {
  const nl = new NetlinkError(17, { message: 'ipv4: Address already assigned', offset: 20 }, { type: 20, seq: 7 });
  const sys = Object.assign(new Error('connect ECONNREFUSED 192.0.2.1:80'), { code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '192.0.2.1' });
  const wrapped = new Error('VIP add failed', { cause: nl });
  const v = JSON.parse(JSON.stringify(toLogValue({ nl, sys, wrapped }))) as Record<string, Record<string, unknown>>;
  assert.deepEqual(v.nl, {
    name: 'NetlinkError', message: 'ipv4: Address already assigned (EEXIST, errno 17)', code: 'EEXIST', errno: 17, syscall: 'netlink',
    extAck: { message: 'ipv4: Address already assigned', offset: 20 }, request: { type: 20, seq: 7 },
  });
  assert.deepEqual(v.sys, { name: 'Error', message: 'connect ECONNREFUSED 192.0.2.1:80', code: 'ECONNREFUSED', errno: -111, syscall: 'connect', address: '192.0.2.1' });
  assert.equal((v.wrapped.cause as Record<string, unknown>).code, 'EEXIST');
  assert.match(String(v.wrapped.stack), /^Error: VIP add failed\n\s+at /);
});

test('a sink that throws or falls behind loses records, never the caller; the loss is reported once it recovers', () => {
  let fail = true;
  const throwing = { write() { if (fail) throw new Error('EBADF'); return true; } };
  const log = createLogger({ sink: throwing, format: 'json' });
  assert.doesNotThrow(() => log.error('lost'));
  assert.equal(log.dropped, 1);
  fail = false;

  let backlog = 2 << 20;
  const sink = capture({ writableLength: () => backlog });
  const l2 = createLogger({ sink, format: 'json', maxBufferedBytes: 1 << 20 });
  for (let i = 0; i < 5; i++) l2.info('while stuck');
  assert.equal(l2.dropped, 5);
  assert.equal(sink.lines.length, 0);
  backlog = 0;
  l2.info('after');
  assert.deepEqual(parse(sink.lines).map((r) => [r.level, r.msg, r.dropped]), [['warn', '5 log records dropped: the log reader fell behind', 5], ['info', 'after', undefined]]);
});

// ---- the real process streams ----

const logModule = fileURLToPath(new URL('../../src/log/index.js', import.meta.url));
const childScript = (body: string) => `import(${JSON.stringify(logModule)}).then(({ createLogger }) => { ${body} });`;

test('real stderr: auto is JSON into a pipe (jq reads it), text on a pseudo-terminal', () => {
  const body = `const log = createLogger({ level: 'info' }).child({ component: 'daemon' }); log.info('started', { pid: 1, reason: 'boot' }); log.debug('hidden');`;
  const piped = spawnSync(process.execPath, ['-e', childScript(body)], { encoding: 'utf8', env: { ...process.env, JOURNAL_STREAM: '' } });
  assert.equal(piped.status, 0, piped.stderr);
  // jq, when installed, is the reader that did not write the line; JSON.parse otherwise.
  const jq = spawnSync('jq', ['-c', '[.level, .component, .msg, .reason]'], { input: piped.stderr, encoding: 'utf8' });
  if (jq.error === undefined) {
    assert.equal(jq.status, 0, jq.stderr);
    assert.equal(jq.stdout, '["info","daemon","started","boot"]\n');
  } else {
    const r = parse(piped.stderr.split(/(?<=\n)/));
    assert.deepEqual(r.map((x) => [x.level, x.component, x.msg, x.reason]), [['info', 'daemon', 'started', 'boot']]);
  }

  const dir = mkdtempSync(join(tmpdir(), 'lvsd-log-'));
  const file = join(dir, 'child.mjs');
  writeFileSync(file, childScript(body));
  // script(1) gives the child a pseudo-terminal as stdin/stdout/stderr.
  const tty = spawnSync('script', ['-qec', `${process.execPath} ${file}`, '/dev/null'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  assert.equal(tty.status, 0, tty.stderr);
  assert.match(tty.stdout, /^\d\d:\d\d:\d\d\.\d{3} INFO daemon started \(boot\) pid=1\r?\n$/);
});

test('real stderr: under JOURNAL_STREAM naming fd 2, text drops the timestamp and auto is JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-log-'));
  const out = join(dir, 'journal');
  const fd = openSync(out, 'w');
  const st = fstatSync(fd);
  try {
    const body = `createLogger({ format: 'text' }).info('text line', { component: 'vrrp' }); createLogger().info('auto line');`;
    const r = spawnSync(process.execPath, ['-e', childScript(body)], { stdio: ['ignore', 'ignore', fd], env: { ...process.env, JOURNAL_STREAM: `${st.dev}:${st.ino}` } });
    assert.equal(r.status, 0);
  } finally {
    closeSync(fd);
  }
  const [text, json] = readFileSync(out, 'utf8').split('\n');
  assert.equal(text, 'INFO vrrp text line');
  assert.equal(JSON.parse(json!).msg, 'auto line');
});

test('real stderr: a reader that went away (EPIPE) does not kill the process', async () => {
  // The parent closes its read end of the child's stderr pipe first; the child then logs a lot, and
  // must count the records as dropped and exit 0 on its own.
  const body = `const log = createLogger({ format: 'json' });
    setTimeout(() => {
      for (let i = 0; i < 2000; i++) log.info('into the void', { i, pad: 'x'.repeat(200) });
      setTimeout(() => {
        for (let i = 0; i < 10; i++) log.info('after the error');
        process.stdout.write(JSON.stringify({ dropped: log.dropped }) + '\\n');
      }, 300);
    }, 300);`;
  const child = spawn(process.execPath, ['-e', childScript(body)], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.destroy();
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
  assert.deepEqual([code, signal], [0, null]);
  assert.equal(JSON.parse(out).dropped, 10, out); // once the stream failed, records are counted, not written
  // The same writes without the logger's 'error' listener kill Node (exit 1): the test above is not vacuous.
  const bare = spawn(process.execPath, ['-e', `setTimeout(() => { for (let i = 0; i < 2000; i++) process.stderr.write('x'.repeat(200)); setTimeout(() => {}, 300); }, 300);`], { stdio: ['ignore', 'ignore', 'pipe'] });
  bare.stderr.destroy();
  assert.equal(await new Promise((resolve) => bare.on('close', resolve)), 1);
});
