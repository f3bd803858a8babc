"""Regenerate ``api_pb2.py`` / ``api_pb2.pyi`` from the CRI v1 API definition.

The Container Runtime Interface is defined once, as protobuf, in k8s.io/cri-api
``pkg/apis/runtime/v1/api.proto`` (in the kubernetes repo under
``staging/src/k8s.io/cri-api``). Every kubelet-side client and every runtime
(containerd, CRI-O) is generated from that one file. We generate only the *message*
classes: ``kubelet/runtime/cri.py`` calls the two services by their gRPC method paths
(``/runtime.v1.RuntimeService/RunPodSandbox`` ...) so the generated service stubs, and
their tie to one grpcio release, are not needed.

Input is either the upstream ``api.proto`` text (older releases carry gogoproto
options: the lines that import or use ``gogo.proto`` are stripped), or a serialized
``FileDescriptorProto`` (``*.pb``: the compiled form of the same file, as some
packages ship it), which protoc reads with ``--descriptor_set_in``.

Why post-process: protoc-generated Python refuses to import on a protobuf runtime
older than the protoc that produced it (``ValidateProtobufRuntimeVersion``). The
messages only use the ``builder`` API that protobuf has had since 4.21, so we drop
that check and the code imports on the project's whole range (protobuf>=4.25,<8).

The checked-in modules were generated with grpcio-tools 1.85.1 (protoc 35.1) from the
compiled form: the ``FileDescriptorProto`` embedded in the ``cri_api/v1/api_pb2.py`` of
the PyPI package ``container-runtime-interface-api`` 2.0.1 (its v1 API, without
gogoproto), saved as a ``.pb`` file. Generating from upstream's ``api.proto`` text gives
the same messages plus whatever newer releases added.

Usage (needs ``pip install grpcio-tools`` somewhere on PYTHONPATH; build-time only)::

    python -m kubelet.runtime.cri_api.generate path/to/api.proto   # or api.pb
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The name the file is registered under in protobuf's descriptor pool (it must be unique
# there); the gRPC package, runtime.v1, is what goes on the wire.
PROTO = "runtime/v1/api.proto"
HEADER = (
    "# Generated from k8s.io/cri-api pkg/apis/runtime/v1/api.proto (Apache-2.0, The Kubernetes Authors)\n"
    "# by grpcio-tools (protoc {protoc}) through kubelet/runtime/cri_api/generate.py. DO NOT EDIT.\n"
    "# The protobuf runtime-version check was removed: see generate.py.\n"
)


def _strip_gogo(text: str) -> str:
    text = re.sub(r'^\s*import\s+"github.com/gogo/protobuf/gogoproto/gogo.proto";\s*$', "", text, flags=re.M)
    text = re.sub(r"^\s*option\s+\(gogoproto\.[^;]*;\s*$", "", text, flags=re.M)
    return re.sub(r"\s*\[\s*\(gogoproto\.[^\]]*\]", "", text)


def _postprocess(code: str, protoc_version: str) -> str:
    code = re.sub(r"from google\.protobuf import runtime_version as _runtime_version\n", "", code)
    code = re.sub(r"_runtime_version\.ValidateProtobufRuntimeVersion\([^)]*\)\n", "", code, flags=re.S)
    code = code.replace("'runtime.v1.api_pb2'", "'kubelet.runtime.cri_api.api_pb2'")
    return HEADER.format(protoc=protoc_version) + code


def main(source: str) -> None:
    from grpc_tools import protoc  # build-time dependency only

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if source.endswith(".proto"):
            (work / PROTO).parent.mkdir(parents=True)
            (work / PROTO).write_text(_strip_gogo(Path(source).read_text()))
            inputs = [f"-I{work}"]
        else:
            from google.protobuf import descriptor_pb2

            fd = descriptor_pb2.FileDescriptorProto.FromString(Path(source).read_bytes())
            fd.name = PROTO
            (work / "api.pb").write_bytes(descriptor_pb2.FileDescriptorSet(file=[fd]).SerializeToString())
            inputs = [f"--descriptor_set_in={work / 'api.pb'}"]
        out = work / "out"
        out.mkdir()
        rc = protoc.main(["protoc", *inputs, f"--python_out={out}", f"--pyi_out={out}", PROTO])
        if rc != 0:
            raise SystemExit(f"protoc failed with {rc}")
        version = subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", "--version"], capture_output=True, text=True
        ).stdout.split()[-1]
        for name in ("api_pb2.py", "api_pb2.pyi"):
            code = (out / "runtime" / "v1" / name).read_text()
            (HERE / name).write_text(_postprocess(code, version))
    print(f"wrote {HERE / 'api_pb2.py'} and api_pb2.pyi (protoc {version})")


if __name__ == "__main__":
    main(sys.argv[1])
