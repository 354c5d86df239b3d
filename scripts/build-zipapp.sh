#!/bin/sh
# `make zipapp`: patron with the server extra as one file (shiv), run by a bare `python3`.
# Binary wheels (granian, msgspec, SQLAlchemy, psycopg) are built per CPython version, so the
# site-packages holds the lock's pins for each version in PYTHONS, merged: pure-Python files
# are the same in each, the compiled modules' names carry the version (`.cpython-312-...so`).
# Every file is hash-checked: the lock is the constraints (pip then wants the wheel's hash too).
# Usage: BIN=.venv/bin WHEEL=dist/patron-X-py3-none-any.whl scripts/build-zipapp.sh dist/patron.pyz
set -eu
out=$1
: "${BIN:?}" "${WHEEL:?}"
PYTHONS=${PYTHONS:-3.11 3.12 3.13}
arch=$(uname -m)
PLATFORM=${PLATFORM:-manylinux_2_28_$arch}
work=build/zipapp
rm -rf "$work" && mkdir -p "$work/site-packages"
printf 'patron[server] @ file://%s --hash=sha256:%s\n' "$(realpath "$WHEEL")" "$(sha256sum "$WHEEL" | cut -d' ' -f1)" \
    > "$work/requirements.txt"
for version in $PYTHONS; do
    # Each version on its own, then merged without overwriting: the first is the one
    # whose dist-info (and pure-Python files, identical at one pin) the zipapp keeps.
    "$BIN/python" -m pip install --quiet --disable-pip-version-check --no-compile \
        --target "$work/$version" --constraint requirements.lock --requirement "$work/requirements.txt" \
        --python-version "$version" --implementation cp --abi "cp$(echo "$version" | tr -d .)" \
        --platform "$PLATFORM" --platform "manylinux_2_17_$arch" --platform "manylinux2014_$arch" \
        --only-binary :all:
    cp -Rn "$work/$version/." "$work/site-packages/"
done
rm -f "$out"
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)} \
    "$BIN/shiv" --site-packages "$work/site-packages" --console-script patron --python "/usr/bin/env python3" \
    --extend-pythonpath --compressed --reproducible --output-file "$out"
echo "built $out ($(du -h "$out" | cut -f1); CPython $PYTHONS on $PLATFORM)"
