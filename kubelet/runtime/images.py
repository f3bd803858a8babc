"""Container images without a registry: built from Debian's busybox, imported into containerd.

An image is just a root filesystem in layers plus a little JSON. The *docker-archive*
format (what ``docker save`` writes, and ``ctr images import`` reads) is a tar holding:

* ``<digest>/layer.tar``: one layer, itself a tar of the root filesystem;
* ``<digest>.json``: the image *config*: the default command, environment, and
  ``rootfs.diff_ids``, the sha256 of each uncompressed layer (the image's identity);
* ``manifest.json``: which config and layers make the image, and its names (``RepoTags``).

Our root filesystem is the statically linked busybox from Debian's ``busybox-static``
(no shared libraries to carry), a symlink per applet (``sh``, ``httpd``, ``wget`` ...),
``etc/passwd``, ``etc/group`` and a world-writable ``tmp``: about 2 MB. The *pause*
image is the same filesystem whose command only sleeps until SIGTERM: it is the process
that holds a pod sandbox's namespaces open (upstream: kubernetes/build/pause/linux/pause.c).
Its name must be containerd's configured ``sandbox_image``, or containerd tries to pull it.

Everything is deterministic (fixed mtimes, sorted entries), so the same busybox always
gives the same image ID and re-importing is a no-op. ``ctr -n k8s.io images import`` puts
the images in the namespace the CRI plugin reads, where ``ImageStatus`` finds them.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

BUSYBOX_IMAGE = "pykube.local/busybox:1.36"
PAUSE_IMAGE = "pykube.local/pause:3.9"
BUSYBOX_BINARY = "/bin/busybox"
PAUSE_COMMAND = ["/bin/sh", "-c", 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait $!; done']
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def normalize_image(name: str) -> str:
    """``busybox`` -> ``docker.io/library/busybox:latest``, as containerd's reference
    parser does (github.com/distribution/reference ``ParseNormalizedNamed``)."""
    first, _, rest = name.partition("/")
    if not rest:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    if "@" not in name and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name


def image_id(name: str) -> str:
    """A stable fake image ID for a name (the simulated runtime's images have no content)."""
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def _add(tar: tarfile.TarFile, name: str, *, data: bytes = b"", mode: int = 0o644, kind: bytes = tarfile.REGTYPE,
         link: str = "") -> None:  # fmt: skip
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime, info.linkname = kind, mode, 0, link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def rootfs_layer(busybox: str = BUSYBOX_BINARY) -> bytes:
    """The layer tar: busybox, its applet symlinks, passwd/group, tmp (mode 1777)."""
    binary = Path(busybox).read_bytes()
    applets = subprocess.run(
        [busybox, "--list-full"], capture_output=True, text=True, check=True
    ).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "var", "var/www", "proc", "sys",
                  "dev", "run"):  # fmt: skip
            _add(tar, d, kind=tarfile.DIRTYPE, mode=0o755)
        _add(tar, "tmp", kind=tarfile.DIRTYPE, mode=0o1777)
        _add(tar, "bin/busybox", data=binary, mode=0o755)
        for applet in sorted(set(applets)):
            if applet != "bin/busybox":
                _add(tar, applet, kind=tarfile.SYMTYPE, link="/bin/busybox")
        _add(
            tar,
            "etc/passwd",
            data=b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        )
        _add(tar, "etc/group", data=b"root:x:0:\nnogroup:x:65534:\n")
        _add(tar, "etc/hosts", data=b"127.0.0.1 localhost\n")
    return buf.getvalue()


def build_archive(dest: Path, tag: str, cmd: list[str], layer: bytes) -> Path:
    """Write a docker-archive image tar at ``dest`` and return it."""
    diff_id = hashlib.sha256(layer).hexdigest()
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "1970-01-01T00:00:00Z",
            "config": {"Env": [PATH_ENV], "Cmd": cmd, "WorkingDir": "/"},
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
            "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "kubelet/runtime/images.py"}],
        },
        sort_keys=True,
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps(
        [{"Config": config_name, "RepoTags": [tag], "Layers": [f"{diff_id}/layer.tar"]}]
    ).encode()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(dest, "w") as tar:
        _add(tar, diff_id, kind=tarfile.DIRTYPE, mode=0o755)
        _add(tar, f"{diff_id}/layer.tar", data=layer)
        _add(tar, config_name, data=config)
        _add(tar, "manifest.json", data=manifest)
    return dest


def import_archive(socket: str, archive: Path) -> None:
    """``ctr images import`` into the CRI plugin's ``k8s.io`` namespace."""
    subprocess.run(
        ["ctr", "-a", socket, "-n", "k8s.io", "images", "import", str(archive)],
        check=True,
        capture_output=True,
        timeout=60,
    )


def ensure_images(socket: str, workdir: Path) -> list[str]:
    """Build (once, cached in ``workdir``) and import the busybox and pause images."""
    built = []
    layer: bytes | None = None
    for tag, cmd in ((BUSYBOX_IMAGE, ["sh"]), (PAUSE_IMAGE, PAUSE_COMMAND)):
        archive = workdir / (tag.replace("/", "_").replace(":", "_") + ".tar")
        if not archive.exists():
            layer = layer or rootfs_layer()
            build_archive(archive, tag, cmd, layer)
        import_archive(socket, archive)
        built.append(tag)
    return built
