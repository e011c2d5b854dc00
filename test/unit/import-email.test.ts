// import-keepalived and keepalived's email alerts (issue #15). The cases follow keepalived 2.2.7: an object's
// unset smtp_alert takes smtp_alert_vrrp / smtp_alert_checker, else smtp_alert, else off (vrrp.c,
// check_data.c); smtp_server defaults to port 25 and smtp_connect_timeout to 30 s; nothing is mailed without
// both notification_email and smtp_server (smtp.c smtp_alert()). The YAML is judged by lvsd's own validator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { importKeepalived } from '../../src/import/index.js';
import { formatIssue, parseConfig, type LvsdConfig } from '../../src/config/index.js';
import { alertPolicy } from '../../src/notify/alerts.js';

function convert(text: string): { config: LvsdConfig; notes: string[] } {
  const r = importKeepalived('-', new TextEncoder().encode(text), () => false);
  assert.ok(r.ok);
  const v = parseConfig(r.yaml, 'out.yaml');
  assert.ok(v.ok, v.ok ? '' : v.errors.map(formatIssue).join('\n') + '\n' + r.yaml);
  return { config: v.config, notes: r.notes.map((n) => `${n.line} ${n.kind}: ${n.message}`) };
}

const BODY = `
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.0.2.10/24
    }
    %I1%
}
vrrp_instance VI_2 {
    interface eth1
    virtual_router_id 52
    priority 100
    virtual_ipaddress {
        10.0.1.1/24
    }
}
virtual_server 192.0.2.10 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    %VS%
    real_server 10.0.1.11 80 {
        %RS%
        TCP_CHECK {
            connect_timeout 3
        }
    }
    real_server 10.0.1.12 80 {
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
`;
const file = (globals: string, o: { i1?: string; vs?: string; rs?: string } = {}) =>
  `global_defs {\n${globals}\n}\n` + BODY.replace('%I1%', o.i1 ?? '').replace('%VS%', o.vs ?? '').replace('%RS%', o.rs ?? '');
const MAIL = `    notification_email {
        ops@example.com
        oncall@example.com
    }
    notification_email_from lb1@example.com
    smtp_server 192.0.2.25`;
const names = (vs: LvsdConfig['virtual_services'][number], i: number) => `${vs.real_servers[i]!.address.address}:80`;
function who(c: LvsdConfig) {
  const p = alertPolicy(c, names);
  const vs = c.virtual_services[0]!.name;
  return { instances: [...p.instances], rs1: p.servers(vs, '10.0.1.11:80'), rs2: p.servers(vs, '10.0.1.12:80') };
}

test('the global keywords become global.email, with keepalived\'s port and plain SMTP', () => {
  const { config, notes } = convert(file(`${MAIL}\n    smtp_helo_name lb1.example.com\n    smtp_connect_timeout 10`));
  assert.deepEqual(config.global.email, {
    to: ['ops@example.com', 'oncall@example.com'], from: 'lb1@example.com', smtp_server: { host: '192.0.2.25', port: 25 },
    helo_name: 'lb1.example.com', connect_timeout: 10_000, starttls: 'never', vrrp_alerts: false, check_alerts: false,
  });
  assert.deepEqual(notes.filter((n) => /smtp|email/.test(n)), []);
  assert.deepEqual(convert(file(MAIL.replace('192.0.2.25', 'mail.example.com 587'))).config.global.email?.smtp_server, { host: 'mail.example.com', port: 587 });
  assert.deepEqual(convert(file(MAIL.replace('192.0.2.25', '2001:db8::25 2525'))).config.global.email?.smtp_server, { host: '2001:db8::25', port: 2525 });
});

test('who mails, case by case as keepalived resolves smtp_alert', () => {
  // Nothing set anywhere: off.
  assert.deepEqual(who(convert(file(MAIL)).config), { instances: [], rs1: false, rs2: false });
  // Global smtp_alert: everything.
  assert.deepEqual(who(convert(file(`${MAIL}\n    smtp_alert`)).config), { instances: ['VI_1', 'VI_2'], rs1: true, rs2: true });
  // smtp_alert_vrrp overrides smtp_alert for instances only.
  assert.deepEqual(who(convert(file(`${MAIL}\n    smtp_alert\n    smtp_alert_vrrp false`)).config), { instances: [], rs1: true, rs2: true });
  // smtp_alert_checker alone: checks only.
  assert.deepEqual(who(convert(file(`${MAIL}\n    smtp_alert_checker`)).config), { instances: [], rs1: true, rs2: true });
  // An instance's own smtp_alert wins over the global.
  assert.deepEqual(who(convert(file(`${MAIL}\n    smtp_alert`, { i1: 'smtp_alert off' })).config), { instances: ['VI_2'], rs1: true, rs2: true });
  // A virtual_server's smtp_alert covers its real servers; a real server's own wins.
  assert.deepEqual(who(convert(file(MAIL, { vs: 'smtp_alert', rs: 'smtp_alert false' })).config), { instances: [], rs1: false, rs2: true });
  assert.deepEqual(who(convert(file(MAIL, { i1: 'smtp_alert' })).config), { instances: ['VI_1'], rs1: false, rs2: false });
});

test('without smtp_server (or recipients) keepalived mails nothing: every email keyword is listed, none written', () => {
  const { config, notes } = convert(file('    notification_email {\n        ops@example.com\n    }\n    smtp_alert', { i1: 'smtp_alert' }));
  assert.equal(config.global.email, undefined);
  assert.equal(config.vrrp_instances[0]!.email_alerts, undefined, 'email_alerts without global.email would not pass lvsd check');
  const mail = notes.filter((n) => /smtp|notification_email/.test(n));
  assert.equal(mail.length, 3);
  for (const n of mail) assert.match(n, /skipped: .*not converted: keepalived sends no email without both notification_email and smtp_server \(this file lacks smtp_server\)/);
});

test('what lvsd cannot take is said, not passed on: a bad address, an unparsable flag', () => {
  const { config, notes } = convert(file(`${MAIL.replace('oncall@example.com', '"Ops Team" <x@example.com>')}\n    smtp_alert maybe`));
  assert.deepEqual(config.global.email?.to, ['ops@example.com']);
  assert.ok(notes.some((n) => /notification_email .* is not a plain address/.test(n)), notes.join('\n'));
  assert.ok(notes.some((n) => /smtp_alert 'maybe': keepalived refuses it/.test(n)), notes.join('\n'));
  assert.equal(config.global.email?.vrrp_alerts, false);
  // No notification_email_from: keepalived's sender is keepalived@HOST; the note says to write the one filtered on.
  const n2 = convert(file(MAIL.replace(/ {4}notification_email_from .*\n/, ''))).notes;
  assert.ok(n2.some((n) => /changed: global_defs: no notification_email_from: keepalived sends from keepalived@/.test(n)), n2.join('\n'));
});
