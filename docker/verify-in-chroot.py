#!/usr/bin/python3
"""Runs docker/Dockerfile without a Docker engine, in debootstrap chroots.

  sudo docker/verify-in-chroot.py [--work DIR] [--fresh] [--run-only]

Why: no Docker engine on the build machines, yet the Dockerfile's steps
should be executed for real, not just read. This reads the Dockerfile and
plays it instruction by instruction:
  FROM debian:bookworm[-slim]  a copy of a debootstrap --variant=minbase
                               bookworm tree (what Debian's official images
                               are built from), one tree per stage
  WORKDIR, ENV, COPY [--from]  done in that tree (COPY . honours .dockerignore)
  RUN                          /bin/sh -c in a chroot, with network, as root
  USER, ENTRYPOINT, CMD, HEALTHCHECK, STOPSIGNAL   recorded for the run below
Then it "runs the container": in a fresh network namespace (only loopback),
chrooted into the final stage as USER, it starts ENTRYPOINT+CMD, waits for
"listening", runs the HEALTHCHECK command (a real echo), a serve/send pair on
tcp://[::1]:0, checks ldd finds every library, sends STOPSIGNAL and expects
exit 0 within 10 s (docker stop's default).

Not emulated: layers and caching, image metadata, the slim image's dpkg
path-excludes (docs/man pages are not stripped), cgroups, seccomp and
capability drops. Needs root, debootstrap, network to deb.debian.org, and
minutes. Not part of the test suite for those reasons.
"""
import argparse, fnmatch, os, shlex, shutil, signal, subprocess, sys, time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MIRROR = "http://deb.debian.org/debian"
DOCKER_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}
# What Debian's images have in /etc/apt/sources.list.d/debian.sources.
SOURCES = """Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def log(msg):
    print(f"verify: {msg}", flush=True)


def sh(cmd, **kw):
    log("$ " + (cmd if isinstance(cmd, str) else shlex.join(map(str, cmd))))
    return subprocess.run(cmd, check=True, shell=isinstance(cmd, str), **kw)


def instructions(dockerfile):
    """(KEYWORD, rest) per instruction, continuation lines joined."""
    out, cur = [], ""
    for line in dockerfile.read_text().splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        cur += line
        word, _, rest = cur.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        cur = ""
    return out


def base_tree(work, fresh):
    """A pristine minbase bookworm tree as a tarball, made once."""
    tar = work / "bookworm-minbase.tar"
    if tar.exists() and not fresh:
        return tar
    tmp = work / "debootstrap"
    shutil.rmtree(tmp, ignore_errors=True)
    sh(["debootstrap", "--variant=minbase", "bookworm", tmp, MIRROR])
    # Like Debian's images: no downloaded .debs, no package lists.
    sh(f"rm -rf {tmp}/var/cache/apt/archives/*.deb {tmp}/var/lib/apt/lists/*")
    (tmp / "etc/apt/sources.list").unlink(missing_ok=True)
    (tmp / "etc/apt/sources.list.d/debian.sources").write_text(SOURCES)
    sh(["tar", "-C", tmp, "-cf", tar, "."])
    shutil.rmtree(tmp)
    return tar


def ignored(rel, patterns):
    """.dockerignore matching, enough for ours: a pattern matches the path or
    any parent directory of it; ** matches across directories."""
    parts = rel.split("/")
    for i in range(1, len(parts) + 1):
        prefix = "/".join(parts[:i])
        for p in patterns:
            p = p.rstrip("/")
            if fnmatch.fnmatch(prefix, p) or (p.startswith("**/") and fnmatch.fnmatch(parts[i - 1], p[3:])):
                return True
    return False


def copy_context(dest, srcs):
    patterns = [l.strip() for l in (REPO / ".dockerignore").read_text().splitlines()
                if l.strip() and not l.startswith("#")]
    for src in srcs:
        base = REPO / src
        for path in ([base] if base.is_file() else sorted(base.rglob("*"))):
            rel = path.relative_to(REPO).as_posix()
            if rel == "." or ignored(rel, patterns) or path.is_dir():
                continue
            target = dest / (path.name if base.is_file() else path.relative_to(base))
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target, follow_symlinks=False)


class Stage:
    def __init__(self, root):
        self.root, self.workdir, self.env, self.user = root, "/", dict(DOCKER_ENV), "0:0"
        self.entrypoint, self.cmd, self.healthcheck, self.stopsignal = [], [], [], "SIGTERM"

    def path(self, p):
        return self.root / p.lstrip("/")

    def run(self, command):
        shutil.copy("/etc/resolv.conf", self.path("/etc/resolv.conf"))
        sh(["mount", "-t", "proc", "proc", self.path("/proc")])
        try:
            sh(["chroot", self.root, "env", "-i", *[f"{k}={v}" for k, v in self.env.items()],
                "/bin/sh", "-c", f"cd {shlex.quote(self.workdir)} && {command}"], stdin=subprocess.DEVNULL)
        finally:
            sh(["umount", self.path("/proc")])


def exec_form(text):
    import json
    return json.loads(text) if text.startswith("[") else ["/bin/sh", "-c", text]


def build(work, fresh, run_only):
    """Plays the Dockerfile; run_only: only reads it, reusing the trees."""
    tar = None if run_only else base_tree(work, fresh)
    stages, st = {}, None
    for word, rest in instructions(REPO / "docker/Dockerfile"):
        log(f"=== {word} {rest}")
        if word == "FROM":
            image, _, name = rest.partition(" AS ")
            root = work / "stages" / name.strip()
            if run_only:
                st = stages[name.strip()] = Stage(root)
                continue
            assert image.startswith("debian:bookworm"), f"no stand-in for {image}"
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
            sh(["tar", "-C", root, "-xf", tar])
            st = stages[name.strip()] = Stage(root)
        elif run_only and word in ("WORKDIR", "COPY", "RUN"):
            continue
        elif word == "WORKDIR":
            st.workdir = rest
            st.path(rest).mkdir(parents=True, exist_ok=True)
        elif word == "ENV":
            k, _, v = rest.partition("=")
            st.env[k] = v
        elif word == "COPY":
            args = rest.split()
            frm = next((a[7:] for a in args if a.startswith("--from=")), None)
            args = [a for a in args if not a.startswith("--")]
            srcs, dest = args[:-1], args[-1]
            dest = dest if dest.startswith("/") else f"{st.workdir}/{dest}"
            if frm:
                for s in srcs:
                    target = st.path(dest)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(stages[frm].path(s), target)
            else:
                copy_context(st.path(dest), srcs)
        elif word == "RUN":
            st.run(rest)
        elif word == "USER":
            st.user = rest
        elif word == "ENTRYPOINT":
            st.entrypoint = exec_form(rest)
        elif word == "CMD":
            st.cmd = exec_form(rest)
        elif word == "HEALTHCHECK":
            st.healthcheck = exec_form(rest.split(" CMD ", 1)[1].strip())
        elif word == "STOPSIGNAL":
            st.stopsignal = rest
        elif word in ("EXPOSE", "LABEL", "ARG"):
            pass
        else:
            sys.exit(f"verify: no emulation for {word}")
    return stages, st


# The "container run", as one shell script in a new network namespace.
RUN_SCRIPT = r"""
set -euo pipefail
ip link set lo up
mount -t proc proc "$ROOT/proc"
eval "start=($START)" "health=($HEALTH)"
# chroot and env exec, so a PID taken below is anysock's own.
as_user=(chroot --userspec="$USERSPEC" "$ROOT" env -i PATH="$DPATH" HOME=/nonexistent)
as_user() { "${as_user[@]}" "$@"; }
echo "--- ldd /usr/local/bin/anysock"
libs=$(chroot "$ROOT" ldd /usr/local/bin/anysock); echo "$libs"; ! grep -q 'not found' <<<"$libs"
echo "--- id: $(as_user id)"
echo "--- version: $(as_user anysock --version)"
echo "--- ENTRYPOINT+CMD: ${start[*]}"
coproc SERVER { exec "${as_user[@]}" "${start[@]}" 2>"$LOGS/server.log"; }
pid=$SERVER_PID
read -r -t 20 line <&"${SERVER[0]}"; echo "$line"; [[ "$line" == "listening tcp://[::]:50007" ]]
echo "--- HEALTHCHECK: ${health[*]}"
as_user "${health[@]}" && echo "healthcheck: exit 0"
echo "--- serve tcp://[::1]:0 + send"
coproc S2 { exec "${as_user[@]}" anysock serve 'tcp://[::1]:0' 2>"$LOGS/serve2.log"; }
read -r -t 20 l2 <&"${S2[0]}"; echo "$l2"; as_user anysock send "${l2#listening }"
s2=$S2_PID; kill -TERM "$s2"; wait "$s2"
echo "--- docker stop: $STOPSIG, SIGKILL after 10 s"
kill -"${STOPSIG#SIG}" "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid"; echo "server: exit $? on $STOPSIG"; cat "$LOGS/server.log"
"""


def run_container(st, work):
    env = {**os.environ, "ROOT": str(st.root), "USERSPEC": st.user, "DPATH": DOCKER_ENV["PATH"],
           "START": shlex.join(st.entrypoint + st.cmd), "HEALTH": shlex.join(st.healthcheck),
           "STOPSIG": st.stopsignal, "LOGS": str(work)}
    sh(["unshare", "--net", "--mount", "--fork", "bash", "-c", RUN_SCRIPT], env=env)


def report(st, work):
    """The final stage's packages, and those the Dockerfile added to the base."""
    have = subprocess.run(["chroot", st.root, "dpkg-query", "-W", "-f=${Package}\\n"],
                          capture_output=True, text=True, check=True).stdout.split()
    pristine = work / "pristine"
    shutil.rmtree(pristine, ignore_errors=True)
    pristine.mkdir()
    sh(["tar", "-C", pristine, "-xf", work / "bookworm-minbase.tar", "./var/lib/dpkg/status"])
    before = {l.split(": ", 1)[1] for l in (pristine / "var/lib/dpkg/status").read_text().splitlines()
              if l.startswith("Package: ")}
    du = subprocess.run(["du", "-sh", st.root], capture_output=True, text=True).stdout.split()[0]
    log(f"final stage: {len(have)} packages, {du} on disk")
    log(f"added to the base by the Dockerfile: {' '.join(sorted(set(have) - before))}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=REPO / "build/docker-verify")
    ap.add_argument("--fresh", action="store_true", help="debootstrap again instead of reusing the base tree")
    ap.add_argument("--run-only", action="store_true", help="skip the build, run the last one again")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("verify: needs root (debootstrap, chroot, mount, unshare)")
    a.work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    stages, final = build(a.work, a.fresh, a.run_only)
    log(f"build stages done in {time.monotonic() - t0:.0f} s")
    run_container(final, a.work)
    report(final, a.work)
    log(f"OK in {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    main()
