#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6 runs on 3.8-3.10 only), or explains.
set -u
for candidate in python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do
  path=$(command -v "$candidate" 2>/dev/null) || continue
  if "$path" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' 2>/dev/null; then
    echo "$path"
    exit 0
  fi
done
cat >&2 <<'MSG'
No Python 3.10 found. Rasa Open Source 3.6 runs on Python 3.8-3.10 only.
Install one, for example:
  pyenv install 3.10.13        (then run make again)
  apt-get install python3.10 python3.10-venv
MSG
exit 1
