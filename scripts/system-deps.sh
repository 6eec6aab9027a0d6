#!/usr/bin/env bash
# Installs the Debian packages Keyhall's build and tests need: python-ldap builds against
# libldap/libsasl, the tests run a private slapd and PostgreSQL, the browser tests Chromium,
# the connector tests provision a throwaway Samba AD DC of their own in a temp dir.
# As root it installs them; otherwise it prints the exact command and fails.
set -euo pipefail

# python-ldap has no wheels: it compiles against these (and Debian's Python needs venv).
runtime=(gcc libc6-dev python3-dev python3-venv libldap2-dev libsasl2-dev)
packages=("${runtime[@]}" slapd ldap-utils postgresql chromium
  samba samba-ad-dc samba-ad-provision)
if [[ "${1:-}" == "--runtime" ]]; then
  packages=("${runtime[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "Keyhall needs these Debian packages; run as root:" >&2
  echo "  apt-get update && DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi

# slapd must not configure or start a system instance: the tests run their own.
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
apt-get update -qq
DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}"
