"""Compile artifacts: files the pipeline needs in S3, each at a content-addressed key.

A step script is referenced as ``{storage.write}/artifacts/{sha256}/{name}``, so changing the
script changes the definition through its hash, and a deploy or local run uploads exactly the
bytes that were compiled.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath

from ..errors import CompileError

BUNDLED = "lgbm_pipeline_compiler.step_scripts"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Artifact:
    name: str
    data: bytes

    @property
    def digest(self) -> str:
        return sha256(self.data)


@dataclass(frozen=True)
class FileArtifact:
    """An artifact whose bytes stay on disk until someone reads them (a wheel): its digest is known
    beforehand (the lock's), so a definition can name it without reading it; reading checks it."""

    name: str
    path: Path
    known_digest: str
    fix: str = ""

    @property
    def digest(self) -> str:
        return self.known_digest

    @property
    def data(self) -> bytes:
        try:
            data = self.path.read_bytes()
        except OSError as err:
            raise CompileError(f"{self.path} cannot be read ({err.strerror}); {self.fix}") from None
        if sha256(data) != self.known_digest:
            raise CompileError(f"{self.path} is not the file the lock names (its sha256 differs); {self.fix}")
        return data


@dataclass
class ArtifactStore:
    """Artifacts collected while compiling, keyed by their S3 URI."""

    write_prefix: str
    by_uri: dict[str, Artifact] = field(default_factory=dict)

    bundles: dict[str, list[str]] = field(default_factory=dict)
    """Prefix → the URIs of its files, for artifacts a job reads as a whole prefix."""

    shipped: set[str] = field(default_factory=set)
    """URIs of artifacts shipped beside the definition though it names none of them (the deploy
    Lambda's code): always part of the output's manifest."""

    def add(self, name: str, data: bytes) -> str:
        artifact = Artifact(name, data)
        uri = f"{self.write_prefix}/artifacts/{artifact.digest}/{name}"
        self.by_uri[uri] = artifact
        return uri

    def add_shipped(self, name: str, data: bytes) -> str:
        """An artifact for the manifest that the definition does not reference; returns its URI."""
        uri = self.add(name, data)
        self.shipped.add(uri)
        return uri

    def add_bundle(self, folder: str, files: dict[str, bytes]) -> str:
        """Files under one content-addressed prefix (hash of every name and content); returns it."""
        return self.add_bundle_of(folder, {name: Artifact(name, data) for name, data in files.items()})

    def add_bundle_of(self, folder: str, artifacts: dict[str, Artifact | FileArtifact]) -> str:
        """:meth:`add_bundle` for artifacts (whose bytes may stay on disk); returns the prefix."""
        listing = "".join(f"{artifacts[name].digest}  {name}\n" for name in sorted(artifacts))
        prefix = f"{self.write_prefix}/artifacts/{sha256(listing.encode())}/{folder}"
        self.bundles[prefix] = []
        for name in sorted(artifacts):
            uri = f"{prefix}/{name}"
            self.by_uri[uri] = artifacts[name]  # type: ignore[assignment]
            self.bundles[prefix].append(uri)
        return prefix

    def referenced_by(self, text: str) -> dict[str, Artifact]:
        """The artifacts a definition text names, directly or through a bundle's prefix, and the
        shipped ones."""
        wanted = {uri for uri in self.by_uri if uri in text} | self.shipped
        for prefix, uris in self.bundles.items():
            if f'"{prefix}"' in text:
                wanted |= set(uris)
        return {uri: self.by_uri[uri] for uri in sorted(wanted)}


def read_script(name: str, spec_dir: str) -> tuple[str, bytes]:
    """A step script: a regular file inside the spec's directory if one is there, else a bundled one.

    The spec checks refuse anything else with a located error; this is the same rule again for
    library users who build a PipelineSpec without them, since compile ships the bytes it reads.
    """
    local = Path(spec_dir) / name
    if os.path.lexists(local):
        root, real = Path(spec_dir).resolve(), local.resolve()
        if PurePosixPath(name).is_absolute() or not real.is_relative_to(root) or not real.is_file():
            raise CompileError(
                f"step script {name!r} is not a regular file inside the spec's directory ({spec_dir})"
            )
        return local.name, real.read_bytes()
    bundled = resources.files(BUNDLED).joinpath(name)
    if "/" not in name and "\\" not in name and bundled.is_file():
        return name, bundled.read_bytes()
    raise CompileError(
        f"step script {name!r} not found next to the spec ({spec_dir}) nor among the bundled scripts"
    )


def bundled_script(name: str) -> bytes:
    """The bytes of a bundled step script (never a file next to the spec)."""
    return resources.files(BUNDLED).joinpath(name).read_bytes()


def source_tarball(files: dict[str, bytes]) -> bytes:
    """A byte-stable sourcedir.tar.gz: sorted members, fixed mtime/owner/mode, gzip mtime 0."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(files[name]), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(files[name]))
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()
