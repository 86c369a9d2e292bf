"""The snapshot's format: a part of the contract the runtime ships alone, and which lives there
(`modelreg.runtime.snapshot_format`). The compiler's modules import it by this name.
"""

from modelreg.runtime.snapshot_format import (
    BODY_SHIFT,
    FORMAT_MAJOR,
    FORMAT_MINOR,
    FORMAT_NAME,
    BodyHasher,
    canonical_json,
    check_format,
    claimed_digest,
    decode,
    encode,
    seal_body,
    seal_parts,
    sealed_digest,
    verify_digest,
)

__all__ = ["BODY_SHIFT", "FORMAT_MAJOR", "FORMAT_MINOR", "FORMAT_NAME", "BodyHasher", "canonical_json", "check_format",
           "claimed_digest", "decode", "encode", "seal_body", "seal_parts", "sealed_digest", "verify_digest"]
