// keepalived statement tree -> lvsd.yaml document. Pure: statements in, (document, notes) out.
// Everything lvsd cannot express is reported with the file:line of the keepalived statement and why;
// where keepalived accepts something lvsd refuses, the nearest valid lvsd form is written and noted.
import { YList, YMap } from './emit.js';
import type { Statement } from './reader.js';
import { Ctx, Names, reorder, type ImportNote } from './convert-common.js';
import { convertGlobal, convertInstance, convertScript, convertSyncGroup, type Globals } from './convert-vrrp.js';
import { convertVirtualServer } from './convert-ipvs.js';

export type { ImportNote } from './convert-common.js';
export type Conversion = { doc: YMap; notes: ImportNote[] };

// ---- the whole file ----

export function convertKeepalived(statements: Statement[]): Conversion {
  const ctx = new Ctx();
  const g: Globals = { version: 2, strict: false, garp: new Map() };
  const global = new YMap();
  // global_defs first: vrrp_version and vrrp_strict change how instances read, wherever they appear.
  for (const s of statements) if (s.key === 'global_defs') convertGlobal(s, ctx, global, g);
  const scriptNames = new Names('vrrp_script');
  const instanceNames = new Names('vrrp_instance');
  const groupNames = new Names('vrrp_sync_group');
  const serviceNames = new Names('virtual_server');
  const scripts: YMap[] = [], instances: YMap[] = [], groups: YMap[] = [], services: YMap[] = [];
  for (const s of statements) if (s.key === 'vrrp_script') { const m = convertScript(s, ctx, scriptNames); if (m) scripts.push(m); }
  for (const s of statements) if (s.key === 'vrrp_instance') { const m = convertInstance(s, ctx, g, instanceNames, scriptNames); if (m) instances.push(m); }
  for (const s of statements) if (s.key === 'vrrp_sync_group') { const m = convertSyncGroup(s, ctx, groupNames, instanceNames); if (m) groups.push(m); }
  for (const s of statements) {
    if (s.key === 'virtual_server') { const m = convertVirtualServer(s, ctx, serviceNames); if (m) services.push(m); }
    else if (!['global_defs', 'vrrp_script', 'vrrp_instance', 'vrrp_sync_group'].includes(s.key)) {
      ctx.unsupported(s, '', s.key === 'virtual_server_group' ? 'has no lvsd equivalent (not supported; write one virtual service per address)' : 'has no lvsd equivalent (not supported)');
    }
  }
  const doc = new YMap();
  if (ctx.firstCommand && global.get('script_user') === undefined) {
    global.set('script_user', 'nobody', ctx.change(ctx.firstCommand, '',
      "no script_user in global_defs: keepalived ran scripts as keepalived_script, or root without that user; lvsd runs them as this user (set the one they need)"));
  }
  if (global.size > 0) doc.set('global', reorder(global, ['router_id', 'script_user']));
  if (instances.length > 0) doc.set('vrrp_instances', new YList(instances));
  if (groups.length > 0) doc.set('vrrp_sync_groups', new YList(groups));
  if (scripts.length > 0) doc.set('track_scripts', new YList(scripts));
  if (services.length > 0) doc.set('virtual_services', new YList(services));
  return { doc, notes: ctx.notes.sort((a, b) => a.seq - b.seq) };
}
