#!/usr/bin/env bash
# Build the container image localhost/patron:<version> (and :latest) from dist/'s wheel with
# podman, without network inside the build (docs/container.md). On a fresh Debian machine, as
# root, it first installs podman, runc and debootstrap, writes the containers.conf this kind of
# machine needs and builds a Debian base image with debootstrap; each step is skipped when
# already done, so a second run only rebuilds what changed.
#
#   scripts/build-image.sh                       # base: localhost/debian-python:bookworm (built here)
#   BASE=python:3.12-slim scripts/build-image.sh # base: any image with python3 >= 3.11 (pulled)
#
# Environment: BASE (the base image), PYTHON (a Python with patron's locked dependencies
# installed, default .venv/bin/python: the dependency closure is read from it), IMAGE
# (default localhost/patron).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
LOCAL_BASE=localhost/debian-python:bookworm
BASE=${BASE:-$LOCAL_BASE}
IMAGE=${IMAGE:-localhost/patron}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
WHEELHOUSE=$ROOT/build/image/wheelhouse
START=$SECONDS

step() { printf '[build-image %3ds] %s\n' "$((SECONDS - START))" "$*"; }
die() { printf 'build-image: %s\n' "$*" >&2; exit 1; }

# 1. The tools, from Debian's archive.
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
if [[ $BASE == "$LOCAL_BASE" ]]; then command -v debootstrap >/dev/null || missing+=(debootstrap); fi
if ((${#missing[@]})); then
    ((EUID == 0)) || die "needs ${missing[*]}: run as root, or apt-get install ${missing[*]}"
    step "installing ${missing[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
else
    step "podman $(podman --version | awk '{print $3}') and runc present"
fi

# 2. containers.conf: only where podman cannot run a container as it is (crun cannot raise
#    RLIMIT_NOFILE here, and does not support the hybrid cgroups), and never over a file
#    someone wrote: then say what it needs.
CONF=/etc/containers/containers.conf
probe() { podman run --rm --network none --pull never "$1" true >/dev/null 2>&1; }
conf_needed() {
    # Without any image yet, judge by the machine: a hard open-files limit below podman's
    # default (1048576) is what breaks crun.
    local image
    image=$(podman images -q | head -n1)
    if [[ -n $image ]]; then
        if probe "$image"; then return 1; else return 0; fi
    fi
    (($(ulimit -Hn) < 1048576))
}
if [[ -e $CONF ]]; then
    if grep -q 'written by patron scripts/build-image.sh' "$CONF"; then
        step "$CONF already written by this script"
    elif conf_needed; then
        die "podman cannot run a container with $CONF as it is; add to it:
  [containers]
  default_ulimits = [\"nofile=$(ulimit -Hn):$(ulimit -Hn)\", \"nproc=32768:32768\"]
  [engine]
  runtime = \"runc\""
    else
        step "$CONF present and podman runs containers: left as it is"
    fi
elif conf_needed; then
    ((EUID == 0)) || die "podman needs $CONF (ulimits, runc): run as root once"
    step "writing $CONF (nofile=$(ulimit -Hn), runtime runc)"
    mkdir -p /etc/containers
    cat >"$CONF" <<EOF
# written by patron scripts/build-image.sh: crun cannot raise RLIMIT_NOFILE past this
# machine's hard limit, nor handle its hybrid cgroups; runc can.
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]

[engine]
runtime = "runc"
EOF
else
    step "podman needs no $CONF here"
fi

# 3. The base image: Debian bookworm with python3, from the machine's own Debian mirror.
if [[ $BASE == "$LOCAL_BASE" ]] && ! podman image exists "$LOCAL_BASE"; then
    ((EUID == 0)) || die "debootstrap needs root"
    mirror=$(grep -hsE '^URIs:.*debian/?$' /etc/apt/sources.list.d/*.sources | awk '{print $2; exit}')
    [[ -n $mirror ]] || mirror=$(grep -hsE '^deb .*debian/? ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2; exit}')
    mirror=${mirror:-http://deb.debian.org/debian}
    rootfs=$(mktemp -d /var/tmp/patron-rootfs.XXXXXX)
    # shellcheck disable=SC2064  # expand now: the trap must remove this directory
    trap "umount '$rootfs/proc' 2>/dev/null || true; rm -rf '$rootfs'" EXIT
    step "debootstrap bookworm from $mirror (about 40 s)"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 ||
        { tail -n 20 "$rootfs.log" >&2; die "debootstrap failed (log: $rootfs.log)"; }
    rm -f "$rootfs.log"
    step "installing python3 and python3-venv into it"
    mount -t proc proc "$rootfs/proc"
    chroot "$rootfs" sh -c 'apt-get install -y -q --no-install-recommends python3 python3-venv &&
        apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin' >"$rootfs.log" 2>&1 ||
        { tail -n 20 "$rootfs.log" >&2; die "apt-get install python3 in the base failed (log: $rootfs.log)"; }
    rm -f "$rootfs.log"
    umount "$rootfs/proc"
    step "importing it as $LOCAL_BASE"
    tar -C "$rootfs" --numeric-owner -c . | podman import --quiet - "$LOCAL_BASE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
else
    step "base image $BASE"
fi

# 4. The wheel, and a wheelhouse with exactly the locked versions of what `patron[server]`
#    needs (requirements.lock also pins the dev tools: those stay out), for the base's
#    Python and platform, so that the build installs with --no-index.
shopt -s nullglob
wheels=(dist/patron-*.whl)
((${#wheels[@]} == 1)) || die "want exactly one dist/patron-*.whl (make dist), found ${#wheels[@]}"
wheel=${wheels[0]}
version=$(sed -nE 's/^__version__ = "([^"]+)"$/\1/p' src/patron/__init__.py)
[[ -n $version ]] || die "no __version__ in src/patron/__init__.py"
[[ $wheel == "dist/patron-$version-py3-none-any.whl" ]] || die "$wheel is not version $version: make dist"
[[ -x $PYTHON ]] || die "no $PYTHON: make install (its dependency metadata gives the image's closure)"

# The base's Python, libc and machine (an image without network runs this in a second).
read -r py_full glibc machine < <(podman run --rm --network none "$BASE" python3 -c \
    'import platform; print(platform.python_version(), platform.libc_ver()[1] or "none", platform.machine())') || true
[[ -n ${machine:-} ]] || die "cannot run python3 in $BASE"
py_version=$(cut -d. -f1,2 <<<"$py_full")
[[ $glibc != none ]] || die "$BASE: only glibc bases are supported (no musl wheels in the wheelhouse)"
step "wheelhouse for Python $py_full, glibc $glibc, $machine"
mkdir -p "$WHEELHOUSE"
"$PYTHON" - "$wheel" "$py_full" "$machine" requirements.lock "$WHEELHOUSE/requirements.txt" <<'EOF'
"""The locked requirements (with their hashes) of `patron[server]` on the target Python."""
import glob, os, re, sys, zipfile
from email.parser import Parser
from importlib import metadata
try:
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:
    from pip._vendor.packaging.markers import default_environment
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.utils import canonicalize_name

wheel, py_full, machine, lock, out = sys.argv[1:]
py_version = ".".join(py_full.split(".")[:2])
blocks = {}
for block in re.findall(r"^[A-Za-z0-9].*?(?=^[A-Za-z0-9]|\Z)", open(lock).read(), re.M | re.S):
    name, version = block.split()[0].split("==")
    lines = [line for line in block.splitlines() if not line.lstrip().startswith("#")]
    blocks[canonicalize_name(name)] = (version, "\n".join(lines).rstrip(" \\\n") + "\n")
env = default_environment()
env.update(python_version=py_version, python_full_version=py_full, platform_machine=machine,
           sys_platform="linux", platform_system="Linux", os_name="posix")

def requires(dist_requires, extras):
    for text in dist_requires or []:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({**env, "extra": e}) for e in extras):
            yield req

with zipfile.ZipFile(wheel) as zf:
    meta = Parser().parsestr(zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode())
todo = list(requires(meta.get_all("Requires-Dist"), {"", "server"}))
seen, wanted, extra = set(), {}, {}
while todo:
    req = todo.pop()
    name = canonicalize_name(req.name)
    if (name, frozenset(req.extras)) in seen:
        continue
    seen.add((name, frozenset(req.extras)))
    if name not in blocks:
        # Needed on the target's Python but not where the lock was made (redis wants
        # async-timeout below Python 3.11.3, and Debian 12 has 3.11.2): the newest match,
        # without a locked hash; `pip check` in the build checks what it needs in turn.
        req.marker = None
        extra[name] = str(req)
        continue
    version, block = blocks[name]
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        sys.exit(f"{name} is not installed in {sys.executable}: make install")
    if dist.version != version:
        sys.exit(f"{name} {dist.version} is installed, {lock} has {version}: make install")
    wanted[name] = block
    todo.extend(requires(dist.requires, {"", *req.extras}))
open(out, "w").write("".join(wanted[name] for name in sorted(wanted)))
# Only the wheels of these requirements stay: a stale one from an older lock must not win.
house = out.rsplit("/", 1)[0]
for path in glob.glob(f"{house}/*.whl"):
    name, version = path.rsplit("/", 1)[1].split("-")[:2]
    name = canonicalize_name(name)
    if name not in extra and (name not in wanted or blocks[name][0] != version):
        os.remove(path)
open(out.replace(".txt", "-unlocked.txt"), "w").write("".join(f"{extra[name]}\n" for name in sorted(extra)))
EOF
count="$(grep -c '==' "$WHEELHOUSE/requirements.txt") of requirements.lock's $(grep -c '==' requirements.lock) packages"
key=$(cat "$WHEELHOUSE"/requirements*.txt <(echo "$py_full $glibc $machine") | sha256sum | cut -d' ' -f1)
if [[ $(cat "$WHEELHOUSE/.downloaded" 2>/dev/null) == "$key" ]]; then
    step "$count: wheels already downloaded"
else
    step "$count: their wheels (pip download, hashes checked)"
    minor=${glibc#*.}
    platforms=()
    for ((m = minor; m >= 5; m--)); do platforms+=(--platform "manylinux_2_${m}_$machine"); done
    platforms+=(--platform "manylinux2014_$machine" --platform "manylinux2010_$machine" --platform "manylinux1_$machine")
    abi=cp${py_version/./}
    # (The grep: a machine whose pip.conf names local indexes that lack a package says so per package.)
    download() {
        "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
            --python-version "$py_version" --implementation cp --abi "$abi" --abi abi3 --abi none \
            "${platforms[@]}" --dest "$WHEELHOUSE" "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
    }
    download --require-hashes -r "$WHEELHOUSE/requirements.txt"
    if [[ -s $WHEELHOUSE/requirements-unlocked.txt ]]; then
        step "warning: not in requirements.lock, needed on Python $py_full: $(paste -sd' ' "$WHEELHOUSE/requirements-unlocked.txt") (newest, no locked hash)"
        download -r "$WHEELHOUSE/requirements-unlocked.txt"
    fi
    echo "$key" >"$WHEELHOUSE/.downloaded"
fi
# The wheel joins them: a copy taken now, so a `make dist` running meanwhile cannot change
# what is built.
cp -p "$wheel" "$WHEELHOUSE/"

# 5. The image (the previous one, once untagged and unused, is removed).
# What the wheels hold (each one's RECORD: its files and their hashes), not their zip bytes,
# which differ on every `make dist`: an unchanged tree keeps the cached layer.
wheels_digest=$("$PYTHON" - "$WHEELHOUSE" <<'EOF'
import hashlib, sys, zipfile
from pathlib import Path
digest = hashlib.sha256()
for wheel in sorted(Path(sys.argv[1]).glob("*.whl")):
    with zipfile.ZipFile(wheel) as zf:
        digest.update(wheel.name.encode() + b"\0" + zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))))
print(digest.hexdigest()[:32])
EOF
)
previous=$(podman image inspect --format '{{.Id}}' "$IMAGE:$version" 2>/dev/null || true)
step "podman build $IMAGE:$version from $BASE"
podman build --quiet --format docker --build-arg "BASE=$BASE" --build-arg "VERSION=$version" --build-arg "WHEELS=$wheels_digest" \
    -t "$IMAGE:$version" -t "$IMAGE:latest" -f Containerfile . >/dev/null
size=$(podman image inspect --format '{{.Size}}' "$IMAGE:$version")
step "built $IMAGE:$version and :latest ($((size / 1000000)) MB)"
current=$(podman image inspect --format '{{.Id}}' "$IMAGE:$version")
if [[ -n $previous && $previous != "$current" ]] && [[ -z $(podman image inspect --format '{{.RepoTags}}' "$previous" | tr -d '[]') ]]; then
    podman rmi "$previous" >/dev/null 2>&1 || true
fi
