#!/usr/bin/env bash
# Installs the system programs the integration tests start themselves: etcd (etcd-server,
# etcd-client), dnsmasq (dnsmasq-base), Avahi (avahi-daemon, avahi-utils, dbus) and iproute2.
# apt is kept from starting any daemon (policy-rc.d exits 101): the tests start them bound to
# loopback or inside network namespaces they create, never in the root namespace.
set -euo pipefail

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v avahi-daemon >/dev/null || need+=(avahi-daemon)
command -v avahi-browse >/dev/null || need+=(avahi-utils)
command -v dbus-daemon >/dev/null || need+=(dbus)
command -v ip >/dev/null || need+=(iproute2)

if [ ${#need[@]} -eq 0 ]; then exit 0; fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "peer tests need: ${need[*]} (install them with your package manager, or run as root on Debian)" >&2
  exit 1
fi

if [ ! -x /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
fi
echo "installing ${need[*]} (services are not started)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
