#!/bin/sh
# Topics are created explicitly with a fixed partition count (auto-create is off on the broker):
# one topic per producing service, keyed by aggregate id, and a dead-letter topic for each.
set -eu
BOOTSTRAP="${BOOTSTRAP:-kafka:9092}"
PARTITIONS="${PARTITIONS:-6}"
for topic in grid.events points.events dispatch.events legal.events; do
  for name in "$topic" "$topic.dlq"; do
    /opt/kafka/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
      --topic "$name" --partitions "$PARTITIONS" --replication-factor 1
  done
done
