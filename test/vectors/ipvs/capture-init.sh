#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t tmpfs tmpfs /run; mount -t devtmpfs dev /dev 2>/dev/null; mkdir -p /dev/pts; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /tmp/ipx/tmp 2>/dev/null
M=/usr/lib/uml/modules/6.1.176/kernel
for m in lib/crc-ccitt net/ipv6/ipv6 net/ipv4/netfilter/nf_defrag_ipv4 net/ipv6/netfilter/nf_defrag_ipv6 net/netfilter/nf_conntrack net/netfilter/ipvs/ip_vs; do insmod $M/$m.ko; done
ip link set lo up
sh /tmp/ipx/job.sh > /tmp/ipx/out.txt 2>&1
echo DONE >> /tmp/ipx/out.txt
poweroff -f
