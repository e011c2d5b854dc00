#!/usr/bin/env bash
# Captures the netlink requests iproute2 sends, as outside test vectors for lvsd's encoders, and the
# kernel's replies iproute2 reads, with iproute2's own JSON/text reading of them, for the decoders.
# Each command runs under `strace -f -e trace=sendmsg -e write=3` inside a throwaway network namespace
# with a veth pair (v0/v1); the last datagram ip/genl writes to fd 3 (its rtnetlink or genl socket) is
# kept as hex. Output: iproute2.json, [{name, command, ifindex, hex}]. The test compares lvsd's bytes
# with these, ignoring nlmsg_seq and nlmsg_pid (bytes 8..15 of each message).
# Replies (`strace -e trace=recvmsg -e read=3`): kernel-replies.json, [{name, command, datagrams: [hex],
# output}] where output is what the tool printed from those same bytes (ip -j: JSON).
# Run as root: bash test/vectors/netlink/capture.sh
set -euo pipefail
cd "$(dirname "$0")"
ns=lvsd-capture-$$
ip netns add "$ns"
trap 'ip netns del "$ns"' EXIT
ip -n "$ns" link add v0 type veth peer name v1
ip -n "$ns" link set v0 up
ifindex=$(ip -n "$ns" -o link show v0 | cut -d: -f1)

capture() { # name, command...
  local name=$1; shift
  local hex
  hex=$(ip netns exec "$ns" strace -f -e trace=sendmsg -e write=3 "$@" 2>&1 >/dev/null |
    awk '/^sendmsg\(3,/ { buf = "" } /^ \| [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]  / { buf = buf substr($0, 11, 49) } END { print buf }' | tr -d ' ')
  [ -n "$hex" ] || { echo "no capture for $name" >&2; exit 1; }
  printf '  {"name": "%s", "command": "%s", "ifindex": %s, "hex": "%s"}' "$name" "$*" "$ifindex" "$hex"
}

{
  echo '['
  capture ipv4-add ip addr add 192.0.2.10/24 dev v0; echo ,
  capture ipv4-add-label ip addr add 192.0.2.11/24 dev v0 label v0:vip; echo ,
  capture ipv4-add-host-scope ip addr add 192.0.2.12/32 dev v0 scope host; echo ,
  capture ipv6-add-nodad ip -6 addr add 2001:db8::10/64 dev v0 nodad; echo ,
  capture ipv6-add-nodad-noprefixroute ip -6 addr add 2001:db8::11/64 dev v0 nodad noprefixroute; echo ,
  capture ipv4-del ip addr del 192.0.2.10/24 dev v0; echo ,
  capture ipv6-del ip -6 addr del 2001:db8::10/64 dev v0; echo ,
  capture genl-getfamily-nlctrl genl ctrl get name nlctrl; echo
  echo ']'
} > iproute2.json.tmp
mv iproute2.json.tmp iproute2.json
{ echo "captured $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -r) with $(ip -V) and $(strace -V | head -1)"; } > iproute2.txt

replies() { # name, command...: every datagram read on fd 3, and the command's stdout
  local name=$1; shift
  local out hex
  out=$(ip netns exec "$ns" "$@" 2>&1 || true)
  hex=$( (ip netns exec "$ns" strace -f -e trace=recvmsg -e read=3 "$@" 2>&1 >/dev/null || true) |
    awk '/^ \* [0-9]+ bytes in buffer/ { if (buf != "") print buf; buf = "" }
         /^ \| [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]  / { buf = buf substr($0, 11, 49) }
         END { if (buf != "") print buf }' | tr -d ' ' | sed 's/.*/"&"/' | paste -sd, -)
  [ -n "$hex" ] || { echo "no replies for $name" >&2; exit 1; }
  printf '  {"name": "%s", "command": "%s", "datagrams": [%s], "output": %s}' "$name" "$*" "$hex" \
    "$(printf '%s' "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.stringify(s)))')"
}

ip -n "$ns" addr add 192.0.2.10/24 dev v0 label v0:vip
ip -n "$ns" -6 addr add 2001:db8::10/64 dev v0 nodad noprefixroute
ip -n "$ns" addr add 198.51.100.1 peer 198.51.100.2/32 dev v0
{
  echo '['
  replies error-eexist ip addr add 192.0.2.10/24 dev v0; echo ,
  replies error-eaddrnotavail ip addr del 192.0.2.99/24 dev v0; echo ,
  replies addr-dump ip -j addr show; echo ,
  replies link-dump ip -j -d link show; echo ,
  replies genl-nlctrl genl ctrl get name nlctrl; echo
  echo ']'
} > kernel-replies.json.tmp
mv kernel-replies.json.tmp kernel-replies.json
cat iproute2.json
