"""Recomputes the test vectors of docs/FORMAT.md with Python's standard library only.

An independent check of the format: no trialnotary code is used. Run: python3 docs/vectors.py
"""

import hashlib
import json
import struct


def jcs(obj):
    # RFC 8785 for these objects: ASCII keys sorted, no whitespace, UTF-8, integers only.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def leaf(data):
    return hashlib.sha256(b"\x00" + data).hexdigest()


def node(left, right):
    return hashlib.sha256(b"\x01" + bytes.fromhex(left) + bytes.fromhex(right)).hexdigest()


def sha(data):
    return hashlib.sha256(data).digest()


def record_leaf(salt_hex, values):
    return leaf(bytes.fromhex(salt_hex) + sha(jcs(values)))


secret = bytes(32)
dataset = "dm"
values = ["CDISCPILOT01", "01-701-1015", None, "4.5"]
values_json = jcs(values)
print("values array:", values_json.decode())
print("its digest:", sha(values_json).hex())
tag = sha(b"trialnotary/salt/v2" + struct.pack(">Q", len(dataset)) + dataset.encode())
salt = sha(secret + tag + struct.pack(">Q", 0) + sha(values_json)).hex()[:32]
print("salt (secret = 32 zero bytes, dataset dm, row 0):", salt)
r0 = record_leaf(salt, values)
print("record leaf:", r0)
r1 = record_leaf("000102030405060708090a0b0c0d0e0f", ["CDISCPILOT01", "01-701-1016", "F", None])
print("second record leaf (salt 000102...0f, values [\"CDISCPILOT01\",\"01-701-1016\",\"F\",null]):", r1)
droot = node(r0, r1)
print("dataset root (two records):", droot)

entry = jcs({"name": "dm", "columns": ["STUDYID", "USUBJID", "SEX", "LBORRES"], "rows": 2, "root": droot})
print("dataset entry bytes:", entry.decode())
d = leaf(entry)
print("dataset entry leaf = submission root (one dataset):", d)

sub = jcs({"id": "CDISCPILOT01", "root": d, "records": 2, "datasets": 1})
print("submission entry bytes:", sub.decode())
s = leaf(sub)
print("submission entry leaf = anchor root (one submission):", s)

header = struct.pack(">IQ", 1, 0) + bytes(32) + bytes.fromhex(s) + struct.pack(">QIQ", 1790000000, 0, 0)
print("header (version 1, height 0, time 1790000000, difficulty 0, nonce 0):", header.hex())
print("block hash:", hashlib.sha256(hashlib.sha256(header).digest()).hexdigest())

# Format version 3: a document beside the dataset. The submission tree holds datasets (by name)
# and documents (by path) in one byte order: "define.xml" sorts before "dm".
doc_bytes = b"<ODM/>\n"
doc = jcs({"path": "define.xml", "bytes": len(doc_bytes), "sha256": sha(doc_bytes).hex()})
print("document entry bytes (define.xml holding '<ODM/>\\n'):", doc.decode())
doc_leaf = leaf(doc)
print("document entry leaf:", doc_leaf)
sub_root = node(doc_leaf, d)
print("submission root (document, then dataset):", sub_root)
sub2 = jcs({"id": "CDISCPILOT01", "root": sub_root, "records": 2, "datasets": 1, "documents": 1})
print("submission entry bytes (with a document):", sub2.decode())
print("its leaf:", leaf(sub2))
