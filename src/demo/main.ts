// `npm run demo`: the two-director LVS-NAT lab with live failover is built by a later issue.
// Until then the demo says so plainly and shows what works today: validating the example configs.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const examples = join(root, 'deploy/examples');
process.stdout.write('lvsd demo: the live two-director failover lab is not built yet.\n' +
  'What works today: `lvsd check` on the example configurations.\n\n');
let failed = 0;
for (const f of readdirSync(examples).filter((n) => n.endsWith('.yaml')).sort()) {
  process.stdout.write(`$ lvsd check -c deploy/examples/${f}\n`);
  const r = spawnSync(process.execPath, [join(root, 'bin/lvsd.js'), 'check', '-c', join(examples, f)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
