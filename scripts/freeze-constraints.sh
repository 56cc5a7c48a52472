#!/usr/bin/env bash
# Rewrite installers/constraints.txt from a set-up .venv whose test command just passed:
#   bash installers/test.sh && bash scripts/freeze-constraints.sh
# installers/setup.sh and installers/build-bundle.sh install with these constraints, so a fresh
# machine gets the versions that were tested rather than whatever was released since.
set -euo pipefail
cd "$(dirname "$0")/.."
out=installers/constraints.txt
{
  echo "# Versions the test command last passed with (pip freeze of a set-up .venv, $(date -u +%Y-%m-%d), $(uname -s) $(uname -m))."
  echo "# installers/setup.sh installs with these as constraints, so a new upstream release cannot change a"
  echo "# fresh machine's install under us (transformers 5.25.0 added the 'kernels' package, whose data the"
  echo "# bundle did not carry). Regenerate: bash scripts/freeze-constraints.sh, then run the test command."
  # torch: the plain version (the CPU wheel's local "+cpu" label differs per platform);
  # packages installed from a file are written as name==version.
  .venv/bin/python -m pip freeze --exclude-editable --disable-pip-version-check \
    | sed -E -e 's/^(torch==[0-9.]+)\+[a-z0-9]+$/\1/' \
             -e 's/^([A-Za-z0-9_.-]+) @ .*\/[A-Za-z0-9_.]+-([0-9][A-Za-z0-9.]*)-py.*$/\1==\2/'
} > "$out"
echo "Wrote $out ($(grep -vc '^#' "$out") pins)"
