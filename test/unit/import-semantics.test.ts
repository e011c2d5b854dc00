// lvsd import-keepalived, issue #15: no silent change of meaning. Each case is keepalived 2.2.7's documented or
// observed behaviour (keepalived.conf(5), keepalived -t's own warnings), and the conversion either keeps it or
// says, with file:line, what changed and why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convertKeepalived } from './import-convert.js';

const convert = convertKeepalived;

// The checks' union type, read loosely: each test knows which variant it wrote.
type AnyCheck = Record<string, unknown>;
const ck = (c: unknown) => c as AnyCheck;
const rsPort = (r: unknown) => (r as { address: { port?: number } }).address.port;

const vs = (body: string, rs = 'real_server 10.0.0.1 80 {\n    TCP_CHECK {\n    }\n  }') => `virtual_server 192.0.2.10 80 {
  protocol TCP
  lb_kind NAT
${body}
  ${rs}
}
`;

test('persistence_timeout 0: keepalived refuses 0 and runs the service without persistence; none is written, noted', () => {
  const r = convert(vs('  persistence_timeout 0'));
  assert.equal(r.config.virtual_services[0]!.persistence, undefined);
  assert.deepEqual(r.notes.map((n) => [n.line, n.kind]), [[4, 'changed']]);
  assert.match(r.notes[0]!.message, /keepalived refuses 0 and runs the service without persistence/);
  assert.equal(r.exitCode, 0);
  // Any other value still converts.
  assert.equal(convert(vs('  persistence_timeout 50')).config.virtual_services[0]!.persistence?.timeout, 50_000);
});

test('state MASTER clears nopreempt and preempt_delay in keepalived (it warns): preempt on, no delay, each noted', () => {
  const inst = (state: string) => `vrrp_instance VI_1 {
  state ${state}
  interface eth0
  virtual_router_id 51
  priority 150
  nopreempt
  preempt_delay 30
  virtual_ipaddress {
    192.0.2.1
  }
}
`;
  const m = convert(inst('MASTER'));
  assert.equal(m.config.vrrp_instances[0]!.preempt, true);
  assert.equal(m.config.vrrp_instances[0]!.preempt_delay, 0);
  assert.deepEqual(m.notes.map((n) => [n.line, n.kind]), [[6, 'changed'], [7, 'changed']]);
  assert.match(m.notes[0]!.message, /keepalived clears nopreempt for an initial MASTER/);
  assert.match(m.notes[1]!.message, /keepalived clears preempt_delay for an initial MASTER/);
  // An initial BACKUP keeps both, as keepalived does.
  const b = convert(inst('BACKUP'));
  assert.equal(b.config.vrrp_instances[0]!.preempt, false);
  assert.equal(b.config.vrrp_instances[0]!.preempt_delay, 30_000);
});

test("DR/TUN real server on another port: IPVS keeps the service port, the check keeps probing keepalived's port", () => {
  const conf = (kind: string, check: string) => `virtual_server 192.0.2.10 80 {
  protocol TCP
  lb_kind ${kind}
  real_server 10.0.0.1 8080 {
    ${check}
  }
}
`;
  const dr = convert(conf('DR', 'TCP_CHECK {\n    }'));
  const s = dr.config.virtual_services[0]!;
  assert.equal(rsPort(s.real_servers[0]), 80);
  assert.equal(ck(s.checks[0]).port, 8080);
  assert.match(dr.yaml, /# keepalived probed port 8080 \(the real_server's port\), not the service port\n\s+port: 8080/);
  // connect_port wins, as in keepalived.
  assert.equal(ck(convert(conf('TUN', 'HTTP_GET {\n      connect_port 9000\n      url {\n        path /\n      }\n    }')).config.virtual_services[0]!.checks[0]).port, 9000);
  // NAT translates the port: nothing to add.
  const nat = convert(conf('NAT', 'TCP_CHECK {\n    }')).config.virtual_services[0]!;
  assert.equal(rsPort(nat.real_servers[0]), 8080);
  assert.equal(ck(nat.checks[0]).port, undefined);
});

test('lvs_sync_daemon (global_defs) and the legacy lvs_sync_daemon_interface become global.lvs_sync_daemon', () => {
  const inst = (extra = '') => `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100${extra}
  virtual_ipaddress {
    192.0.2.1
  }
}
`;
  const g = convert(`global_defs {\n  lvs_sync_daemon eth1 VI_1 id 7 maxlen 1400 port 8849 ttl 2 group 224.0.0.82\n}\n${inst()}`);
  assert.deepEqual(g.config.global.lvs_sync_daemon, { interface: 'eth1', instance: 'VI_1', sync_id: 7, maxlen: 1400, port: 8849, ttl: 2, group: { family: 4, address: '224.0.0.82' }, role: 'follow' });
  assert.deepEqual(g.notes, []);
  const legacy = convert(inst('\n  lvs_sync_daemon_interface eth1'));
  assert.deepEqual(legacy.config.global.lvs_sync_daemon, { interface: 'eth1', instance: 'VI_1', role: 'follow' });
  assert.deepEqual(legacy.notes.map((n) => [n.line, n.kind]), [[5, 'changed']]);
  // Both: keepalived keeps the global one and ignores the instance's ("has already been specified ... - ignoring").
  const both = convert(`global_defs {\n  lvs_sync_daemon eth0 inst VI_1\n}\n${inst('\n  lvs_sync_daemon_interface eth1')}`);
  assert.deepEqual(both.config.global.lvs_sync_daemon, { interface: 'eth0', instance: 'VI_1', role: 'follow' });
  assert.deepEqual(both.notes.map((n) => [n.line, n.kind]), [[8, 'skipped']]);
});

test("bind_if (keepalived.conf(5)'s spelling) becomes bind_interface; HTTP regex becomes body_regex, noted", () => {
  const r = convert(vs('', `real_server 10.0.0.1 80 {
    HTTP_GET {
      bind_if eth1
      url {
        path /health
        regex "^OK"
      }
    }
  }`));
  const c = ck(r.config.virtual_services[0]!.checks[0]);
  assert.equal(c.bind_interface, 'eth1');
  assert.equal(c.body_regex, '^OK');
  assert.deepEqual(r.notes.map((n) => [n.line, n.kind]), [[10, 'changed']]);
  assert.equal(r.exitCode, 0);
});

test("checks inherit the virtual_server's and real_server's retry, delay_before_retry, connect_timeout, warmup, delay_loop (keepalived 2.x)", () => {
  const r = convert(`virtual_server 192.0.2.10 80 {
  protocol TCP
  lb_kind NAT
  delay_loop 10
  retry 4
  delay_before_retry 7
  connect_timeout 3
  warmup 0
  real_server 10.0.0.1 80 {
    TCP_CHECK {
    }
  }
  real_server 10.0.0.2 80 {
    TCP_CHECK {
      retry 1
    }
    connect_timeout 4
    delay_loop 20
  }
}
`);
  const [a, b] = r.config.virtual_services[0]!.real_servers.map((x) => ck(x.checks?.[0]));
  const timing = (c: AnyCheck | undefined) => [c?.interval, c?.timeout, c?.retries, c?.delay_before_retry, c?.warmup];
  assert.deepEqual(timing(a), [10_000, 3000, 5, 7000, 0]);
  // The real server's own values (even after its check block) and the check's own override the service's.
  assert.deepEqual(timing(b), [20_000, 4000, 2, 7000, 0]);
  assert.deepEqual(r.notes, []);
});

test("no script_user: keepalived's rule (keepalived_script if that user exists, else root) is written out, never lvsd's nobody", () => {
  const conf = 'vrrp_script chk {\n  script "/usr/local/bin/chk"\n}\n';
  const yes = convert(conf, (u) => u === 'keepalived_script');
  assert.equal(yes.config.global.script_user, 'keepalived_script');
  assert.match(yes.notes[0]!.message, /keepalived runs scripts as keepalived_script when that user exists, else as root; keepalived_script exists on this machine, so written as keepalived_script/);
  const no = convert(conf, () => false);
  assert.equal(no.config.global.script_user, 'root');
  assert.match(no.notes[0]!.message, /keepalived_script does not exist on this machine, so written as root/);
  assert.equal(no.notes[0]!.line, 2);
  // Set explicitly: taken as it is, no note.
  assert.equal(convert(`global_defs {\n  script_user nobody\n}\n${conf}`).notes.length, 0);
});

test('obsolete keywords and values at their default are quiet notes (changed, exit 0), not "not converted"', () => {
  const r = convert(`global_defs {
  lvs_id LVS_DEVEL
  vrrp_garp_interval 0
  vrrp_gna_interval 0
  vrrp_skip_check_adv_addr
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  skip_check_adv_addr
  virtual_ipaddress {
    192.0.2.1
  }
}
${vs('  nat_mask 255.255.255.0')}`);
  assert.deepEqual(r.notes.map((n) => [n.line, n.kind]), [[2, 'changed'], [3, 'changed'], [4, 'changed'], [5, 'changed'], [10, 'changed'], [18, 'changed']]);
  assert.match(r.notes[0]!.message, /ignored: obsolete/);
  assert.match(r.notes[1]!.message, /ignored: at its default/);
  assert.equal(r.exitCode, 0);
  // A delay that is not the default is still reported as not converted.
  assert.equal(convert('global_defs {\n  vrrp_garp_interval 0.01\n}\n').notes[0]!.kind, 'skipped');
});

// ---- faults keepalived tolerates: convert with a note instead of failing with no output ----

test("a missing final '}': keepalived 2.2.7 warns \"There are 1 missing '}'s\" and uses the config; converted with a note", () => {
  const r = convert(`virtual_server 192.0.2.10 80 {
  protocol TCP
  lb_kind NAT
  real_server 10.0.0.1 80 {
    weight 3
  }
`);
  assert.equal(r.config.virtual_services[0]!.real_servers[0]!.weight, 3);
  assert.deepEqual(r.notes.map((n) => [n.line, n.kind]), [[1, 'changed']]);
  assert.match(r.notes[0]!.message, /'\{' is never closed: read as closed at the end of the input, as keepalived does/);
  assert.equal(r.exitCode, 0);
});

test("an extra '}' at the top: keepalived reports \"Extra '}' found\" and ignores it; so does the import, with a note", () => {
  const r = convert('global_defs {\n  router_id a\n}\n}\nglobal_defs {\n  router_id b\n}\n');
  assert.equal(r.config.global.router_id, 'b');
  assert.deepEqual(r.notes.map((n) => [n.line, n.kind]), [[4, 'changed']]);
  assert.match(r.notes[0]!.message, /'\}' without a matching '\{': ignored, as keepalived ignores it/);
});

test('\\" inside a quoted script: keepalived (alloc_strvec_quoted_escaped) reads a literal quote; the argv keeps "a b" as one word', () => {
  const r = convert(`global_defs {
  script_user root
}
vrrp_script chk {
  script "/bin/echo \\"a b\\" c"
}
`);
  assert.deepEqual(r.config.track_scripts[0]!.argv, ['/bin/echo', 'a b', 'c']);
});

// ---- IPVS keywords (keepalived.conf(5) virtual_server / virtual_server_group) ----

test('virtual_server_group: addresses, last-byte and full ranges, a prefix (every address); one service', () => {
  const r = convert(`virtual_server_group WEB {
  192.0.2.10-12 80
  192.0.2.20 443
  198.51.100.8/30 80
}
virtual_server group WEB {
  protocol TCP
  lb_kind NAT
  real_server 10.0.0.1 80 {
    TCP_CHECK {
    }
  }
}
`);
  const g = r.config.virtual_services[0]!.group!;
  assert.deepEqual(g.addresses.map((a) => `${a.addresses.join(',')}:${a.port}`), ['192.0.2.10,192.0.2.11,192.0.2.12:80', '192.0.2.20:443', '198.51.100.8,198.51.100.9,198.51.100.10,198.51.100.11:80']);
  assert.deepEqual(r.notes.map((n) => [n.line, n.kind]), [[4, 'changed']]);
  assert.match(r.notes[0]!.message, /198\.51\.100\.8\/30 written as the range 198\.51\.100\.8-198\.51\.100\.11/);
  assert.equal(r.config.virtual_services[0]!.real_servers.length, 1);
});

test('virtual_server_group with fwmarks and DR: a real server port differing from a member port is left out, its check keeps probing it', () => {
  const r = convert(`virtual_server_group G {
  192.0.2.10 80
  192.0.2.10 8080
  fwmark 5
}
virtual_server group G {
  protocol TCP
  lb_kind DR
  real_server 10.0.0.1 80 {
    TCP_CHECK {
    }
  }
}
`);
  const vs = r.config.virtual_services[0]!;
  assert.deepEqual(vs.group!.fwmarks, [5]);
  assert.equal(rsPort(vs.real_servers[0]), undefined);
  assert.equal(ck(vs.checks[0]).port, 80);
  assert.deepEqual(r.notes.map((n) => [n.line, n.kind]), [[9, 'changed']]);
});

test('ops: kept for UDP; on TCP keepalived resets it ("one packet scheduling requires UDP"), so it is dropped with a note', () => {
  const udp = convert(`virtual_server 192.0.2.10 53 {\n  protocol UDP\n  lb_kind NAT\n  ops\n  real_server 10.0.0.1 53 {\n  }\n}\n`);
  assert.equal(udp.config.virtual_services[0]!.one_packet, true);
  assert.deepEqual(udp.notes, []);
  const tcp = convert(vs('  ops'));
  assert.equal(tcp.config.virtual_services[0]!.one_packet, false);
  assert.deepEqual(tcp.notes.map((n) => [n.line, n.kind]), [[4, 'changed']]);
  assert.match(tcp.notes[0]!.message, /one packet scheduling requires UDP/);
});

test('persistence_engine sip: with persistence on UDP written; without persistence it did nothing; on TCP the kernel schedules nothing (reported)', () => {
  const ok = convert(`virtual_server 192.0.2.10 5060 {\n  protocol UDP\n  lb_kind NAT\n  persistence_timeout 60\n  persistence_engine sip\n  real_server 10.0.0.1 5060 {\n  }\n}\n`);
  assert.deepEqual(ok.config.virtual_services[0]!.persistence, { timeout: 60_000, engine: 'sip' });
  assert.deepEqual(ok.notes, []);
  const none = convert(`virtual_server 192.0.2.10 5060 {\n  protocol UDP\n  lb_kind NAT\n  persistence_engine sip\n  real_server 10.0.0.1 5060 {\n  }\n}\n`);
  assert.equal(none.config.virtual_services[0]!.persistence, undefined);
  assert.deepEqual(none.notes.map((n) => [n.line, n.kind]), [[4, 'changed']]);
  const tcp = convert(vs('  persistence_timeout 60\n  persistence_engine sip'));
  assert.equal(tcp.config.virtual_services[0]!.persistence?.engine, undefined);
  assert.deepEqual(tcp.notes.map((n) => [n.line, n.kind]), [[5, 'skipped']]);
});

test('sorry_server_inhibit and a port-less sorry server for a fwmark service (port 0: the request\'s port)', () => {
  const r = convert(`virtual_server fwmark 7 {
  lb_kind DR
  sorry_server 10.0.0.100
  sorry_server_inhibit
  real_server 10.0.0.1 {
  }
}
`);
  const s = r.config.virtual_services[0]!.sorry_server!;
  assert.deepEqual([s.address.address, s.address.port, s.inhibit], ['10.0.0.100', 0, true]);
  assert.deepEqual(r.notes, []);
  // An address service still needs a sorry server port.
  const a = convert(vs('  sorry_server 10.0.0.100'));
  assert.equal(a.config.virtual_services[0]!.sorry_server, undefined);
  assert.deepEqual(a.notes.map((n) => [n.line, n.kind]), [[4, 'skipped']]);
});

test('inhibit_on_failure per real_server (keepalived 2.x, with an optional BOOL) overrides the virtual_server\'s, both ways', () => {
  const r = convert(vs('  inhibit_on_failure', 'real_server 10.0.0.1 80 {\n    inhibit_on_failure false\n  }\n  real_server 10.0.0.2 80 {\n  }'));
  const v = r.config.virtual_services[0]!;
  assert.equal(v.inhibit_on_failure, true);
  assert.deepEqual(v.real_servers.map((x) => x.inhibit_on_failure), [false, undefined]);
  const off = convert(vs('', 'real_server 10.0.0.1 80 {\n    inhibit_on_failure\n  }'));
  assert.equal(off.config.virtual_services[0]!.real_servers[0]!.inhibit_on_failure, true);
  assert.deepEqual(r.notes.concat(off.notes), []);
});

test('lvs_timeouts tcp/tcpfin/udp become global.ipvs_timeouts; a value that is not whole seconds is left out with a note', () => {
  const r = convert('global_defs {\n  lvs_timeouts tcp 900 tcpfin 30 udp 60\n}\n');
  assert.deepEqual(r.config.global.ipvs_timeouts, { tcp: 900_000, tcp_fin: 30_000, udp: 60_000 });
  const bad = convert('global_defs {\n  lvs_timeouts tcp 1.5 udp 60\n}\n');
  assert.deepEqual(bad.config.global.ipvs_timeouts, { udp: 60_000 });
  assert.deepEqual(bad.notes.map((n) => [n.line, n.kind]), [[2, 'skipped']]);
});

test('a DR fwmark service\'s real server port: keepalived clears it ("has port specified - clearing"), so it is left out; NAT keeps it; checks probe it', () => {
  const r = convert(`virtual_server fwmark 3 {
  lb_kind NAT
  real_server 10.0.0.1 8080 {
  }
}
virtual_server fwmark 4 {
  lb_kind DR
  real_server 10.0.0.1 8080 {
    TCP_CHECK {
    }
  }
}
`);
  const [nat, dr] = r.config.virtual_services;
  assert.equal(rsPort(nat!.real_servers[0]), 8080);
  assert.equal(rsPort(dr!.real_servers[0]), undefined);
  assert.equal(ck(dr!.checks[0] ?? dr!.real_servers[0]!.checks![0]).port, 8080);
  assert.deepEqual(r.notes.map((n) => [n.line, n.kind]), [[8, 'changed']]);
});
