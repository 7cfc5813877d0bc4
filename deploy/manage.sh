#!/bin/sh
# manage.py as the ledgersheet user with the production environment, e.g.
#   /srv/ledgersheet/deploy/manage.sh createsuperuser
# Run it as root or as ledgersheet. The same environment file as the daphne
# processes, read by sh as the supervisor wrapper reads it, so a command here
# sees exactly what the server sees. LEDGERSHEET_APP, LEDGERSHEET_ENV and
# LEDGERSHEET_USER override the paths and user of docs/deployment.md.
set -eu
app=${LEDGERSHEET_APP:-/srv/ledgersheet}
env_file=${LEDGERSHEET_ENV:-/etc/ledgersheet/env}
user=${LEDGERSHEET_USER:-ledgersheet}
cd "$app"
# $0 of the inner sh is the environment file; "$@" are manage.py's arguments.
run='set -a; . "$0"; set +a; exec .venv/bin/python manage.py "$@"'
if [ "$(id -un)" = "$user" ]; then
    exec sh -c "$run" "$env_file" "$@"
fi
exec sudo -u "$user" sh -c "$run" "$env_file" "$@"
