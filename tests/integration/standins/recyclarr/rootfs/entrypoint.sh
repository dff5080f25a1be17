#!/bin/sh
# recyclarr v8.7.1 docker/scripts/entrypoint.sh: arguments run the CLI; none start the cron
# schedule (supercronic there; here the container just stays up: nothing syncs at start, and
# the daily run is not modelled).
set -e
config=/config/recyclarr.yml
if [ "${RECYCLARR_CREATE_CONFIG:-false}" = true ] && [ ! -f "$config" ]; then
    echo "Creating default recyclarr.yml file..."
    recyclarr config create
fi
if [ "$#" -gt 0 ]; then
    exec recyclarr "$@"
fi
echo "Starting cron schedule using: $CRON_SCHEDULE"
trap 'exit 0' TERM INT
while :; do
    sleep 3600 &
    wait $!
done
