#!/bin/sh
# Kafka's kafka-leader-election.sh, answered by Kastor (README: "Kafka's scripts"). Resolves the repository through
# this script's real path, so it works from any directory, through PATH and through symlinks ($KAFKA_PATH/bin).
here=$(dirname "$(readlink -f "$0")")
exec node "$here/../kastor.js" kafka-tool leader-election "$@"
