// keepalived statement tree -> lvsd.yaml document. Pure: statements in, (document, notes) out.
// Everything lvsd cannot express is reported with the file:line of the keepalived statement and why;
// where keepalived accepts something lvsd refuses, the nearest valid lvsd form is written and noted.
import { YList, YMap } from './emit.js';
import type { Statement } from './reader.js';
import { Ctx, Names, reorder, type ImportNote } from './convert-common.js';
import { convertGlobal, convertInstance, convertScript, convertSyncGroup, type Globals } from './convert-vrrp.js';
import { convertUpDownDelays } from './convert-vrrp.js';
import { convertTrackProcess, convertVrrpTrackFile, vrrpTrackedFiles } from './convert-vrrp.js';
import { convertServiceGroup, convertVirtualServer, readTrackFile, type ServiceGroup, type TrackFile } from './convert-ipvs.js';
import { finishEmail } from './convert-email.js';
import { quoteValue } from '../text/quote.js';

export type { ImportNote } from './convert-common.js';
export type Conversion = { doc: YMap; notes: ImportNote[] };

// ---- the whole file ----

/** Whether a user exists where the import runs (keepalived's script_user default depends on it); false when unknown. */
export type UserExists = (name: string) => boolean;

export function convertKeepalived(statements: Statement[], userExists: UserExists = () => false): Conversion {
  const ctx = new Ctx();
  const g: Globals = { version: 2, strict: false, garp: new Map() };
  const global = new YMap();
  // global_defs first: vrrp_version and vrrp_strict change how instances read, wherever they appear.
  for (const s of statements) if (s.key === 'global_defs') convertGlobal(s, ctx, global, g);
  for (const s of statements) if (s.key === 'interface_up_down_delays') convertUpDownDelays(s, ctx, global);
  const scriptNames = new Names('vrrp_script');
  const instanceNames = new Names('vrrp_instance');
  const groupNames = new Names('vrrp_sync_group');
  const serviceNames = new Names('virtual_server');
  const scripts: YMap[] = [], instances: YMap[] = [], groups: YMap[] = [], services: YMap[] = [];
  for (const s of statements) if (s.key === 'vrrp_script') { const m = convertScript(s, ctx, scriptNames); if (m) scripts.push(m); }
  // VRRP tracking: vrrp_track_process blocks, and the track_file blocks an instance or a group tracks.
  const processNames = new Names('vrrp_track_process'), fileNames = new Names('track_file');
  const trackProcesses: YMap[] = [], trackFilesVrrp: YMap[] = [];
  for (const s of statements) if (s.key === 'vrrp_track_process') { const m = convertTrackProcess(s, ctx, processNames); if (m) trackProcesses.push(m); }
  const vrrpFiles = vrrpTrackedFiles(statements);
  for (const s of statements) if ((s.key === 'track_file' || s.key === 'vrrp_track_file') && vrrpFiles.has(s.args[0] ?? '')) { const m = convertVrrpTrackFile(s, ctx, fileNames); if (m) trackFilesVrrp.push(m); }
  const tracked = { scripts: scriptNames, processes: processNames, files: fileNames };
  for (const s of statements) if (s.key === 'vrrp_instance') { const m = convertInstance(s, ctx, g, instanceNames, scriptNames, tracked); if (m) instances.push(m); }
  for (const s of statements) if (s.key === 'vrrp_sync_group') { const m = convertSyncGroup(s, ctx, groupNames, instanceNames, tracked); if (m) groups.push(m); }
  // virtual_server_group blocks, wherever they stand in the file.
  const vsGroups = new Map<string, ServiceGroup>();
  for (const s of statements) if (s.key === 'virtual_server_group') vsGroups.set(s.args[0] ?? '', convertServiceGroup(s, ctx));
  // What checks refer to by name or use as a whole: track_file blocks (FILE_CHECK) and the SSL block (SSL_GET).
  const trackFiles = new Map<string, TrackFile>();
  for (const s of statements) if (s.key === 'track_file' || s.key === 'vrrp_track_file') trackFiles.set(s.args[0] ?? '', readTrackFile(s, ctx));
  const ssl = [...statements].reverse().find((s) => s.key === 'SSL');
  for (const s of statements) {
    if (s.key === 'virtual_server') { const m = convertVirtualServer(s, ctx, serviceNames, vsGroups, { trackFiles, ssl }); if (m) services.push(m); }
    else if (!['global_defs', 'vrrp_script', 'vrrp_instance', 'vrrp_sync_group', 'virtual_server_group', 'track_file', 'vrrp_track_file', 'SSL', 'interface_up_down_delays', 'vrrp_track_process'].includes(s.key)) ctx.unsupported(s, '');
  }
  if (g.syncDaemon) {
    const d = g.syncDaemon, name = instanceNames.get(d.instance);
    if (name === undefined) ctx.skip(d.s, '', `${d.s.key}: VRRP instance ${quoteValue(d.instance)} was not converted; the connection-sync daemon is not converted`);
    else {
      const sd = new YMap().set('interface', d.iface).set('instance', name);
      for (const e of d.options.entries) sd.entries.push(e);
      global.set('lvs_sync_daemon', sd, d.s.key === 'lvs_sync_daemon' ? undefined : ctx.change(d.s, '', `lvs_sync_daemon_interface (deprecated in keepalived) written as global lvs_sync_daemon following instance ${quoteValue(name)}, as keepalived runs it`));
    }
  }
  const doc = new YMap();
  if (ctx.firstCommand && global.get('script_user') === undefined) {
    // keepalived 2.2.7 (global_parser.c / notify.c): without script_user, scripts run as keepalived_script when
    // that user exists, else as root. lvsd's own default (nobody) would be a silent change: write what keepalived did.
    const has = userExists('keepalived_script');
    global.set('script_user', has ? 'keepalived_script' : 'root', ctx.change(ctx.firstCommand, '',
      `no script_user in global_defs: keepalived runs scripts as keepalived_script when that user exists, else as root; keepalived_script ${has ? 'exists' : 'does not exist'} on this machine, so written as ${has ? 'keepalived_script' : 'root'} (if this is not the director, check there; lvsd's own default would be nobody)`));
  }
  finishEmail(global, ctx);
  if (global.size > 0) doc.set('global', reorder(global, ['router_id', 'script_user']));
  if (instances.length > 0) doc.set('vrrp_instances', new YList(instances));
  if (groups.length > 0) doc.set('vrrp_sync_groups', new YList(groups));
  if (scripts.length > 0) doc.set('track_scripts', new YList(scripts));
  if (trackProcesses.length > 0) doc.set('track_processes', new YList(trackProcesses));
  if (trackFilesVrrp.length > 0) doc.set('track_files', new YList(trackFilesVrrp));
  if (services.length > 0) doc.set('virtual_services', new YList(services));
  return { doc, notes: ctx.notes.sort((a, b) => a.seq - b.seq) };
}
