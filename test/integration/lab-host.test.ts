// The host backend: the lab's namespaces in this machine's own kernel (root only). Here the host
// kernel has no IPVS, so the IPVS scenario is skipped with that reason and everything else runs;
// on a kernel with IPVS the very same scenario the UML backend runs (lab.test.ts) runs here too.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../../src/lab/lab.js';
import { hostHasIpvs, isRoot } from '../../src/lab/kernel.js';
import { natRoundRobin } from '../../src/lab/selftest/scenarios.js';
import { takeSnapshot } from '../../src/lab/snapshot.js';

const skip = isRoot() ? false : 'the host backend needs root';

describe('lab (host backend)', { skip }, () => {
  test('single-director in host namespaces: routing, IPv6, nginx, a Node real server; names carry the owner tag', async (t) => {
    const rootLinks = takeSnapshot().links;
    const lab = await Lab.start('single-director', { backend: 'host' });
    t.after(() => lab.stop());
    assert.equal(lab.backend, 'host');
    for (const ns of lab.namespaces) assert.match(ns, new RegExp(`^lvsdlab${process.pid}x\\d+-`));
    // Everything lives in the lab's namespaces: the host's root namespace gains no link.
    assert.deepEqual(takeSnapshot().links.filter((l) => !rootLinks.includes(l)).filter((l) => /^(br-|eth|port|\w+-eth)/.test(l)), []);
    const c = lab.host('client');
    const answers = await c.sh('for a in 10.0.1.11 10.0.1.12 10.0.1.13 [2001:db8:2::11]; do curl -sS --max-time 5 http://$a/; done');
    assert.equal(answers, 'rs1\nrs2\nrs3\nrs1\n');
    // Replies from the real servers come back through the director (their default route).
    const trace = await lab.host('rs2').run(['ip', 'route', 'get', '192.0.2.100']);
    assert.match(trace, /via 10\.0\.1\.1 dev eth0/);
    const rs = await lab.host('rs3').startRealServer({ port: 8080 });
    await rs.set({ status: 404, body: 'gone\n' });
    assert.equal(await c.run(['curl', '-s', '-w', '%{http_code}', 'http://10.0.1.13:8080/']), 'gone\n404');
  });

  test('single-director: ipvsadm NAT service rotates rs3, rs2, rs1', { skip: hostHasIpvs() ? false : 'host kernel has no IPVS (CONFIG_IP_VS unset); lab.test.ts runs this on the UML backend' }, async (t) => {
    const lab = await Lab.start('single-director', { backend: 'host' });
    t.after(() => lab.stop());
    const v4 = await natRoundRobin(lab, 4, 6);
    assert.deepEqual(v4.answers, ['rs3', 'rs2', 'rs1', 'rs3', 'rs2', 'rs1'], v4.table);
  });

  test('two labs side by side on one host kernel do not collide', async (t) => {
    const a = await Lab.start('director-pair', { backend: 'host', services: false });
    t.after(() => a.stop());
    const b = await Lab.start('director-pair', { backend: 'host', services: false });
    t.after(() => b.stop());
    assert.notEqual(a.host('director1').ns, b.host('director1').ns);
    await a.host('client').run(['ping', '-c', '1', '-W', '2', '192.0.2.3']);
    await b.host('client').run(['ping', '-c', '1', '-W', '2', '192.0.2.3']);
  });
});
