"""A signed C2PA manifest in converted videos and images, where the
``provenance`` extra (``c2pa-python``, the Content Authenticity Initiative's
library, and ``cryptography``) is installed.

The manifest holds one action, ``c2pa.created`` with IPTC's digital source
type ``trainedAlgorithmicMedia`` (the marking the EU AI Act's article 50
points to), and the tool that made it. It is signed with the user's
certificate chain and key (``convert --sign-cert CHAIN.pem --sign-key
KEY.pem``, ES256, as a C2PA signer needs: an end-entity certificate with the
digitalSignature key usage and an EKU such as emailProtection), otherwise
with a local certificate this module makes once (a local CA and a signer it
issues, kept in ``$XDG_CACHE_HOME/faceswap_parts/c2pa``). C2PA readers call
that one untrusted (``signingCredential.untrusted``): it shows the file was
marked, not who marked it.
"""
from __future__ import annotations

import datetime
import importlib.util
import json
import os
from pathlib import Path

from faceswap_parts.errors import FaceswapError
from faceswap_parts.io.provenance import SOURCE_TYPE_URI as DIGITAL_SOURCE_TYPE
MIME_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".png": "image/png", ".jpg": "image/jpeg",
              ".jpeg": "image/jpeg", ".webp": "image/webp"}
INSTALL_HINT = "pip install 'faceswap-parts[provenance]' (c2pa-python and cryptography)"


def available() -> bool:
    """True where c2pa-python and cryptography can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in ("c2pa", "cryptography"))


def supported(path: str | os.PathLike) -> bool:
    """True for the formats a manifest is embedded in (MKV is not one of C2PA's)."""
    return Path(path).suffix.lower() in MIME_TYPES


def local_signer_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "faceswap_parts" / "c2pa"


def local_signer(folder: Path | None = None) -> tuple[Path, Path]:
    """The local certificate chain and key (made on first use): an untrusted
    signer, for output whose user gave no certificate of their own."""
    folder = folder or local_signer_dir()
    chain, key_file = folder / "local_chain.pem", folder / "local_key.pem"
    if chain.is_file() and key_file.is_file():
        return chain, key_file
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from faceswap_parts.io.files import write_bytes_atomic

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "faceswap-parts local, untrusted")])

    def usage(sign: bool, ca: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                             data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                             encipher_only=False, decipher_only=False)

    now = datetime.datetime.now(datetime.timezone.utc)
    # C2PA refuses a self-signed end-entity certificate, so a local CA issues the signer
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("faceswap-parts local CA")).issuer_name(name("faceswap-parts local CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(usage(False, True), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(name("faceswap-parts local signer")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage(True, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(key_file, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
    key_file.chmod(0o600)
    write_bytes_atomic(chain, leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM))
    return chain, key_file


def _manifest(record: dict, title: str) -> dict:
    agent = {"name": record.get("tool", "faceswap-parts"), "version": str(record.get("version", ""))}
    return {"claim_generator_info": [agent], "title": title,
            "assertions": [{"label": "c2pa.actions", "data": {"actions": [
                {"action": "c2pa.created", "digitalSourceType": DIGITAL_SOURCE_TYPE, "softwareAgent": agent,
                 "parameters": {"description": "faces replaced by a face-swapping model",
                                "faceswap_parts": json.dumps(record, sort_keys=True)}}]}}]}


def embed(path: str | os.PathLike, record: dict, sign_cert: str | os.PathLike | None = None,
          sign_key: str | os.PathLike | None = None) -> str:
    """Embed a signed manifest in the file at ``path`` (rewritten in place,
    atomically); returns who signed it. ``sign_cert``/``sign_key``: the
    user's PEM chain and key, else the local untrusted signer."""
    if not available():
        raise FaceswapError(f"a C2PA manifest needs the provenance extra: {INSTALL_HINT}")
    import c2pa

    from faceswap_parts.io.files import atomic_path

    path = Path(path)
    if not supported(path):
        raise FaceswapError(f"C2PA manifests go into {', '.join(MIME_TYPES)} files, not {path.suffix}")
    if bool(sign_cert) != bool(sign_key):
        raise FaceswapError("--sign-cert and --sign-key go together: the certificate chain and its private key (PEM)")
    cert, key = (Path(sign_cert), Path(sign_key)) if sign_cert else local_signer()
    try:
        info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, cert.read_bytes(), key.read_bytes(), None)
    except OSError as err:
        raise FaceswapError(f"cannot read {err.filename}: {err.strerror}") from None
    mime = MIME_TYPES[path.suffix.lower()]
    try:
        with c2pa.Signer.from_info(info) as signer, c2pa.Builder(_manifest(record, path.name)) as builder, \
                atomic_path(path, suffix=path.suffix) as signed:
            with open(path, "rb") as source, open(signed, "w+b") as dest:
                builder.sign(signer, mime, source, dest)
    except c2pa.C2paError as err:
        raise FaceswapError(f"could not sign {path} with {cert}: {str(err).strip().splitlines()[0]}") from None
    return "the local untrusted certificate" if not sign_cert else str(cert)


def read(path: str | os.PathLike) -> dict | None:
    """What a C2PA manifest in ``path`` says: the digital source type, the
    signer, the validation codes; ``None`` without a manifest or the extra."""
    if not available() or not supported(path):
        return None
    import c2pa

    try:
        with c2pa.Reader(os.fspath(path)) as reader:
            store = json.loads(reader.json())
    except c2pa.C2paError:
        return None  # no manifest (the library raises for that too)
    manifest = store.get("manifests", {}).get(store.get("active_manifest"), {})
    actions = [action for assertion in manifest.get("assertions", []) if assertion.get("label", "").startswith("c2pa.actions")
               for action in assertion.get("data", {}).get("actions", [])]
    signature = manifest.get("signature_info", {})
    return {"digital_source_type": next((a.get("digitalSourceType") for a in actions if a.get("digitalSourceType")), None),
            "signer": signature.get("common_name") or signature.get("issuer"),
            "validation": sorted({status.get("code") for status in store.get("validation_status", [])} - {None})}
