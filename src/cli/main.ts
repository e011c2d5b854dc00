import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const HELP = `lvsd ${pkg.version} — a load balancer for Linux directors (IPVS health checks and VRRP)

Usage:
  lvsd check -c FILE     validate a configuration; exit 0 when valid
  lvsd run -c FILE       run the daemon
  lvsd --version         print the version
  lvsd --help            print this help
`;

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'V' } },
  });
  if (values.version) { process.stdout.write(`lvsd ${pkg.version}\n`); return 0; }
  if (values.help || positionals.length === 0) { process.stdout.write(HELP); return values.help ? 0 : 2; }
  process.stderr.write(`lvsd: unknown command '${positionals[0]}'\n\n${HELP}`);
  return 2;
}
