// The Debian packages the lab runs on. Checked once per process; a missing one stops the lab with the
// exact command that fixes it (scripts/setup.sh installs them when run as root).
import { execFileSync } from 'node:child_process';

export const LAB_PACKAGES = ['user-mode-linux', 'kmod', 'ipvsadm', 'iproute2', 'nginx-light', 'curl', 'tcpdump', 'iputils-ping'] as const;

export class MissingPackagesError extends Error {
  constructor(readonly packages: string[]) {
    super(`the lab needs these Debian packages, which are not installed: ${packages.join(' ')}\n` +
      `install them with: sudo apt-get install --no-install-recommends ${packages.join(' ')}\n` +
      `(or run scripts/setup.sh as root, which installs everything lvsd's tests use)`);
    this.name = 'MissingPackagesError';
  }
}

export function missingPackages(packages: readonly string[] = LAB_PACKAGES): string[] {
  let out = '';
  try {
    out = execFileSync('dpkg-query', ['-W', '-f=${Package} ${Status}\\n', ...packages], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch (e) {
    // dpkg-query exits 1 when some package is unknown but still prints the known ones.
    out = ((e as { stdout?: Buffer }).stdout ?? Buffer.alloc(0)).toString();
  }
  const installed = new Set(out.split('\n').filter((l) => l.endsWith('install ok installed')).map((l) => l.split(' ')[0]));
  return packages.filter((p) => !installed.has(p));
}

let checked = false;

export function requirePackages(): void {
  if (checked) return;
  const missing = missingPackages();
  if (missing.length > 0) throw new MissingPackagesError(missing);
  checked = true;
}
