#!/usr/bin/env bash
# A `deliver` hook: encrypt each new key's credentials to a GnuPG recipient (the trainer), as
# OUTDIR/<workshop>.json.gpg. workshop-keys passes the credentials as JSON on standard input
# (never in arguments or the environment). Needs gpg and jq (Debian: gnupg, jq).
#
#   [settings]
#   deliver = ["/srv/workshop-keys/examples/deliver-gpg.sh", "trainer@example.org", "/srv/handover"]
#
# The trainer decrypts with: gpg --decrypt /srv/handover/<workshop>.json.gpg
set -euo pipefail
recipient=${1:?usage: deliver-gpg.sh RECIPIENT OUTDIR}
outdir=${2:?usage: deliver-gpg.sh RECIPIENT OUTDIR}
umask 077
mkdir -p "$outdir"

json=$(cat)
workshop=$(printf '%s' "$json" | jq -r .workshop)
# The id was validated by workshop-keys; check again before using it in a file name.
[[ $workshop =~ ^[A-Za-z0-9._-]{1,64}$ && $workshop != . && $workshop != .. ]] || { echo "bad workshop id" >&2; exit 1; }

tmp="$outdir/.$workshop.json.gpg.tmp"
printf '%s' "$json" | gpg --batch --yes --quiet --trust-model always --recipient "$recipient" --encrypt --output "$tmp"
mv "$tmp" "$outdir/$workshop.json.gpg"
