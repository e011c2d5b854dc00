// `lvsd ipvs` argument handling and its answers when the kernel has no IPVS (this host's kernel has none;
// the lab tests run it against one that does).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ipvsCommand, IPVS_HELP } from '../../src/cli/ipvs-command.js';

async function run(argv: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const code = await ipvsCommand(argv, { stdout: (s) => { out += s; }, stderr: (s) => { err += s; }, stdin: async () => stdin });
  return { code, out, err };
}

test('--help prints the usage and exits 0', async () => {
  const r = await run(['--help']);
  assert.equal(r.code, 0);
  assert.equal(r.out, IPVS_HELP);
});

test('unknown options and subcommands are usage errors (exit 2) with the usage', async () => {
  for (const argv of [['--bogus'], ['frobnicate'], ['list', 'extra']]) {
    const r = await run(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.err, /Usage: lvsd ipvs/);
  }
});

test('apply rejects a malformed table before touching the kernel, naming the line', async () => {
  const r = await run(['apply'], '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.2:80 -r 192.168.0.1:80 -m\n');
  assert.equal(r.code, 2);
  assert.match(r.err, /line 2: destination of an unknown service -t 10\.0\.0\.2:80/);
  const bad = await run(['apply'], '{"table": 5}');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /"table" array/);
  const dir = mkdtempSync(join(tmpdir(), 'lvsd-ipvs-cli-'));
  writeFileSync(join(dir, 't.sn'), '-A -t 10.0.0.1:80 -s rr --bogus\n');
  const fromFile = await run(['apply', join(dir, 't.sn')]);
  assert.equal(fromFile.code, 2);
  assert.match(fromFile.err, /line 1: unknown option --bogus/);
});

test('without IPVS in the kernel: exit 69 and how to get it', { skip: existsSync('/proc/net/ip_vs') ? 'this kernel has IPVS' : false }, async () => {
  const r = await run(['list']);
  assert.equal(r.code, 69);
  assert.match(r.err, /no IPVS generic netlink family: load the ip_vs module/);
});
