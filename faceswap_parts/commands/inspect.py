"""`faceswap-parts inspect FILE...`: read the synthetic-media tag that converted videos and images carry."""

HELP = "say whether videos or images carry the synthetic-media tag that convert writes, and what it records"


def add_arguments(parser):
    parser.add_argument("files", nargs="+", metavar="FILE", help="converted videos or images")
    parser.add_argument("--json", action="store_true", help="print each file's record as one JSON line")


def run(args) -> int:
    """Exit 0 when every file carries the tag, 1 when one does not (like ``grep``), so scripts can check."""
    import json

    from faceswap_parts.io import c2pa_manifest
    from faceswap_parts.io.provenance import describe, read_tag

    untagged = 0
    for path in args.files:
        record = read_tag(path)
        manifest = c2pa_manifest.read(path)
        untagged += record is None and manifest is None
        if args.json:
            print(json.dumps({"file": path, "tag": record, "c2pa": manifest}, sort_keys=True))
            continue
        if manifest is not None:
            print(f"{path}: C2PA manifest: digital source type {manifest['digital_source_type']}, signed by "
                  f"{manifest['signer']}" + (f" ({', '.join(manifest['validation'])})" if manifest["validation"] else ""))
        if record is None and manifest is None:
            print(f"{path}: no synthetic-media tag (not made by faceswap-parts convert, or its metadata was "
                  "stripped: a missing tag does not prove a file is real)")
        elif record is not None:
            details = ", ".join(f"{k} {record[k]}" for k in ("model_architecture", "direction", "created",
                                                              "visible_label") if record.get(k))
            print(f"{path}: {record.get('description') or describe(record)}" + (f" [{details}]" if details else ""))
    return 1 if untagged else 0
