#!/usr/bin/env bash
# Brings a fresh Linux machine to the point where lvsd builds, its tests run and its lab boots:
# the Debian packages the lab and the tests use, the npm dependencies (which also build the
# native socket addon), and the TypeScript build. Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# What each package is for:
#   user-mode-linux  the lab's kernel with IPVS, for hosts whose kernel has none
#   kmod             insmod, to load the IPVS modules inside that kernel
#   ipvsadm          the independent reader of IPVS tables in tests, and the benchmark reference
#   iproute2         namespaces, veth, bridges, addresses in the lab
#   nginx-light      real HTTP real servers
#   curl             a real client
#   tcpdump tshark   independent readers of what lvsd puts on the wire
#   keepalived       the VRRP interop peer and benchmark reference
#   strace           captures the netlink bytes iproute2 and ipvsadm send (outside test vectors)
#   procps psmisc    ps/pkill for the lab's clean-up checks
#   tmux             the demo's live view is driven as a person would (send-keys, capture-pane)
#   iputils-ping     ping in lab hosts (reachability, and a SOCK_RAW ICMP socket in the lab smoke check)
#   systemd          systemd-analyze and systemd-sysusers judge deploy/systemd (installed, not run as init)
#   frr              the routing daemons lvsd hands announced VIPs to (zebra imports lvsd's route table,
#                    bgpd announces it, bfdd detects a dead director), and the ECMP router of the lab
#   bird2            the other routing daemon lvsd supports (kernel protocol learning lvsd's routes, BGP, BFD)
#   exim4-daemon-light  the real MTA that receives lvsd's email alerts in the lab (test/integration/email.test.ts
#                    runs it with a config of its own: exim -C, a spool under the lab's directory)
#   socat            an independent UDP echo service (and one that swallows datagrams) for the UDP check's lab test
#   knot knot-dnsutils  the real DNS server of the DNS check's lab test (knotd -c, zones under the lab's
#                    directory; a configured zone without its file answers SERVFAIL) and kdig, which
#                    captured the DNS replies the codec's unit tests parse
#   nftables         nft, which lvsd runs to install its own table 'inet lvsd' (accept: false / vrrp_strict)
# frr and bird2 run only inside the lab, each instance with its own config; see below for their units.
DEBIAN_PACKAGES=(user-mode-linux kmod ipvsadm iproute2 nginx-light curl tcpdump tshark keepalived strace procps psmisc iputils-ping systemd tmux frr bird2 exim4-daemon-light socat knot knot-dnsutils nftables)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
    # Debian enables and starts frr.service, bird.service and exim4.service on install. Where systemd is init, a
    # routing daemon this script just installed for the lab must not run on the machine itself
    # (invoke-rc.d starts nothing where systemd is not init: there is no runlevel).
    if [ -d /run/systemd/system ]; then
      units=()
      for p in "${missing[@]}"; do
        case $p in frr) units+=(frr.service) ;; bird2) units+=(bird.service) ;; exim4-daemon-light) units+=(exim4.service) ;; knot) units+=(knot.service) ;; esac
      done
      [ ${#units[@]} -eq 0 ] || systemctl disable --now "${units[@]}" >&2 || true
    fi
  else
    echo "setup: these Debian packages are needed and missing: ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# npm ci again whenever the lockfile or the addon's sources change; it also builds the addon.
stamp_inputs=(package.json package-lock.json)
[ -f binding.gyp ] && stamp_inputs+=(binding.gyp)
[ -d src/native ] && stamp_inputs+=($(find src/native -name '*.c' -o -name '*.h' | sort))
stamp=$(cat "${stamp_inputs[@]}" | sha256sum | cut -d' ' -f1)
if [ ! -f node_modules/.lvsd-stamp ] || [ "$(cat node_modules/.lvsd-stamp)" != "$stamp" ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund >&2
  echo "$stamp" > node_modules/.lvsd-stamp
else
  # npm ci already ran `prepare` (tsc); otherwise the sources may have changed since the last build.
  npx --no-install tsc -p tsconfig.json >&2
fi
