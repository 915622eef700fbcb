#!/bin/sh
# A `notify` hook: POST the JSON summary of each reconcile that changed something to a webhook
# (a chat bridge, an alerting endpoint). The summary holds no secrets. Needs curl.
#
#   [settings]
#   notify = ["/srv/workshop-keys/examples/notify-webhook.sh", "http://127.0.0.1:9000/hooks/workshop-keys"]
set -eu
url=${1:?usage: notify-webhook.sh URL}
exec curl --fail --silent --show-error --max-time 10 \
  -H 'Content-Type: application/json' --data-binary @- "$url"
