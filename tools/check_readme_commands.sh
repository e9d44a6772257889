#!/usr/bin/env bash
# The commands a newcomer copies, run exactly as written, each in a fresh
# virtual environment with nothing else installed:
#
#   1. the README's two commands for a fresh machine (the first code block
#      after "On a fresh machine"): install and run the worked example;
#      install and run the tests;
#   2. the embedding example's README commands (examples/embedding/README.md),
#      then its Python snippet.
#
# Each runs from a fresh clone of the repository's committed tree, so that
# nothing left in the working tree (a build, an untracked file) can help it;
# afterwards the clone must hold no file git does not ignore.
#
# Usage: tools/check_readme_commands.sh [SKIPPED_LOG]
#   SKIPPED_LOG: write the node ids of the tests the README's test command
#   skipped to this file (CI then runs them with every extra installed).
# Environment: PYTHON (default python3).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
skipped_log="${1:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { echo "check_readme_commands: $*" >&2; exit 1; }

# The lines of the first ```sh block after the line matching $2 in file $1.
block_after() {
    awk -v anchor="$2" '
        index($0, anchor) { found = 1 }
        found && /^```sh/ { inside = 1; next }
        inside && /^```/ { exit }
        inside { print }' "$1"
}

# fresh NAME: a clean clone in $work/NAME/src and an activated new venv.
fresh() {
    git clone --quiet "$root" "$work/$1/src"
    "$python" -m venv "$work/$1/venv"
    # shellcheck disable=SC1091
    . "$work/$1/venv/bin/activate"
    cd "$work/$1/src"
}

# run_verbatim LINE: the line exactly as written, in bash, echoed first.
run_verbatim() {
    printf '$ %s\n' "$1"
    bash -euo pipefail -c "$1" || fail "the command failed: $1"
}

clean_tree() {
    local left
    left="$(git status --porcelain --untracked-files=all)"
    [ -z "$left" ] || fail "the commands left files in the checkout:"$'\n'"$left"
}

mapfile -t readme < <(block_after "$root/README.md" "On a fresh machine")
[ "${#readme[@]}" -eq 2 ] || fail "expected the README's two commands for a fresh machine, found ${#readme[@]}"

step "README, the worked example: ${readme[0]}"
(fresh example && SECONDS=0 && run_verbatim "${readme[0]}" && clean_tree && echo "(${SECONDS} s)")

step "README, the tests: ${readme[1]}"
(fresh tests && SECONDS=0 && \
    if [ -n "$skipped_log" ]; then export BACKPROP_SKIPPED_LOG="$skipped_log"; fi && \
    run_verbatim "${readme[1]}" && clean_tree && echo "(${SECONDS} s)")

mapfile -t embedding < <(block_after "$root/examples/embedding/README.md" "in a virtual environment")
[ "${#embedding[@]}" -ge 2 ] || fail "expected the embedding README's commands, found ${#embedding[@]}"
snippet="$(awk '/^```python/ { inside = 1; next } inside && /^```/ { exit } inside { print }' \
    "$root/examples/embedding/README.md")"
[ -n "$snippet" ] || fail "the embedding README has no Python example"

step "examples/embedding/README.md"
(fresh embedding && SECONDS=0 && for line in "${embedding[@]}"; do run_verbatim "$line"; done && \
    cd "$work" && printf '$ python <<EOF\n%s\nEOF\n' "$snippet" && python -c "$snippet" && \
    cd "$work/embedding/src" && clean_tree && echo "(${SECONDS} s)")
step "the README's commands passed"
