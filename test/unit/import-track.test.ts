// import-keepalived and keepalived's tracking (issue #17): vrrp_track_process, track_file on the VRRP side,
// weight ... reverse / noreverse, init_fail, and track_* on a vrrp_sync_group, per keepalived.conf(5)
// (2.2.7). The YAML is judged by lvsd's own validator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importKeepalived } from '../../src/import/index.js';
import { formatIssue, parseConfig, type LvsdConfig } from '../../src/config/index.js';

function convert(text: string): { config: LvsdConfig; notes: string[]; yaml: string } {
  const r = importKeepalived('-', new TextEncoder().encode(text), () => false);
  assert.ok(r.ok);
  const v = parseConfig(r.yaml, 'out.yaml');
  assert.ok(v.ok, v.ok ? '' : v.errors.map(formatIssue).join('\n') + '\n' + r.yaml);
  return { config: v.config, notes: r.notes.map((n) => `${n.line} ${n.kind}: ${n.message}`), yaml: r.yaml };
}

const KEEPALIVED = `
vrrp_script chk {
    script "/usr/local/bin/chk"
    weight -20 reverse
    init_fail
}
vrrp_track_process haproxy {
    process /usr/sbin/haproxy -f /etc/haproxy/haproxy.cfg
    param_match partial
    quorum 2
    quorum_max 4
    delay 1.5
}
vrrp_track_process nginx {
    process nginx
    weight 30 reverse
    fork_delay 0.2
    full_command
}
track_file prio {
    file "/run/lvs-prio"
    weight 10 reverse
    init_file 0 overwrite
}
track_file unused_by_vrrp {
    file "/run/other"
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.10/24
    }
    track_script {
        chk
    }
    track_process {
        haproxy weight -50
        nginx noreverse
    }
    track_file {
        prio weight 2 reverse
    }
}
vrrp_instance VI_2 {
    interface eth1
    virtual_router_id 52
    priority 100
    virtual_ipaddress {
        10.0.1.1/24
    }
}
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    track_interface {
        eth2 weight -30 reverse
    }
    track_process {
        nginx
    }
    track_file {
        prio
    }
    track_script {
        chk weight 5
    }
}
`;

test('vrrp_track_process, track_file, reverse, init_fail, sync group tracking', () => {
  const { config: c, notes } = convert(KEEPALIVED);
  assert.deepEqual(c.track_scripts[0]!.reverse, true);
  assert.deepEqual(c.track_scripts[0]!.init_fail, true);
  assert.deepEqual(c.track_scripts[0]!.weight, -20);
  const [hap, ngx] = c.track_processes;
  assert.deepEqual({ ...hap }, {
    name: 'haproxy', process: '/usr/sbin/haproxy', params: ['-f', '/etc/haproxy/haproxy.cfg'], param_match: 'partial', full_command: false,
    quorum: 2, quorum_max: 4, fork_delay: 1500, terminate_delay: 1500, weight: 1,
  });
  assert.equal(ngx!.full_command, true);
  assert.equal(ngx!.fork_delay, 200);
  assert.equal(ngx!.weight, 30);
  assert.equal(ngx!.reverse, true);
  // only the track_file a VRRP instance or group tracks becomes a track_files entry
  assert.deepEqual(c.track_files.map((f) => ({ ...f })), [{ name: 'prio', path: '/run/lvs-prio', weight: 10, reverse: true, interval: 5000 }]);
  const t = c.vrrp_instances[0]!.track;
  assert.deepEqual(t.processes.map((p) => ({ ...p })), [{ name: 'haproxy', weight: -50 }, { name: 'nginx', reverse: false }]);
  assert.deepEqual(t.files.map((p) => ({ ...p })), [{ name: 'prio', weight: 2, reverse: true }]);
  const g = c.vrrp_sync_groups[0]!.track;
  assert.deepEqual(g.interfaces.map((p) => ({ ...p })), [{ name: 'eth2', weight: -30, reverse: true }]);
  assert.deepEqual(g.processes.map((p) => p.name), ['nginx']);
  assert.deepEqual(g.files.map((p) => p.name), ['prio']);
  assert.deepEqual(g.scripts.map((p) => ({ ...p })), [{ name: 'chk', weight: 5 }]);
  assert.ok(notes.some((n) => /init_file dropped/.test(n)), notes.join('\n'));
  assert.ok(notes.some((n) => /default weight 1/.test(n)), notes.join('\n'));
  assert.ok(!notes.some((n) => /reverse.*not supported/.test(n)), notes.join('\n'));
});

test('a track_process naming no vrrp_track_process is skipped with the reason', () => {
  const { notes, config } = convert(KEEPALIVED.replace('nginx noreverse', 'nosuch'));
  assert.ok(notes.some((n) => /track_process .nosuch. is not a converted vrrp_track_process/.test(n)), notes.join('\n'));
  assert.deepEqual(config.vrrp_instances[0]!.track.processes.map((p) => p.name), ['haproxy']);
});
