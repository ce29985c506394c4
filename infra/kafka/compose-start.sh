#!/bin/bash
# Entrypoint of the kafka service in docker-compose.yml (apache/kafka image): formats the storage on first start with
# the SCRAM user Vigil's stages log in as (KAFKA_SCRAM_USER, password in the file KAFKA_SCRAM_PASSWORD_FILE), then
# runs the broker with infra/kafka/compose-server.properties.
set -euo pipefail
config=/tmp/server.properties
cp /vigil/compose-server.properties "$config"
if [[ ! -f /var/lib/kafka/data/meta.properties ]]; then
  password="$(cat "$KAFKA_SCRAM_PASSWORD_FILE")"
  /opt/kafka/bin/kafka-storage.sh format --config "$config" --cluster-id "$(/opt/kafka/bin/kafka-storage.sh random-uuid)" \
    --add-scram "SCRAM-SHA-512=[name=${KAFKA_SCRAM_USER},password=${password}]" >/dev/null
fi
exec /opt/kafka/bin/kafka-server-start.sh "$config"
