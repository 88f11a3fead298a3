"""Writes the broken-on-purpose proof vectors in broken/ and their manifest from the good proofs.

Each vector changes one thing in a good proof; manifest.json says what, which exit code `verify`
must give, and the reason its output must name. Run from this directory: python3 make_vectors.py
(the good proofs and chain.tnc come from `trialnotary prove` on the sample at difficulty 12).
"""

import copy
import hashlib
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
record = json.load(open(os.path.join(HERE, "good-record.json")))
dataset = json.load(open(os.path.join(HERE, "good-dataset.json")))
vectors = []


def flip(h):
    return ("1" if h[0] == "0" else "0") + h[1:]


def add(name, description, proof, exit_code, reason, args=(), raw=None):
    path = os.path.join(HERE, "broken", name + ".json")
    with open(path, "w") as f:
        f.write(raw if raw is not None else json.dumps(proof, indent=1))
    vectors.append({"file": "broken/" + name + ".json", "description": description, "args": list(args),
                    "exit": exit_code, "reason": reason})


def edit(base, fn):
    p = copy.deepcopy(base)
    fn(p)
    return p


os.makedirs(os.path.join(HERE, "broken"), exist_ok=True)
R = record

add("value-changed", "one record value changed after notarization",
    edit(R, lambda p: p["record"]["values"].__setitem__(4, "MODIFIED")), 1,
    "step 1 (record in dataset): leaf hash mismatch")
add("salt-changed", "the salt's first hex digit changed",
    edit(R, lambda p: p["record"].__setitem__("salt", flip(p["record"]["salt"]))), 1,
    "step 1 (record in dataset): leaf hash mismatch")
add("salt-uppercase", "the salt in uppercase hex: one spelling only",
    edit(R, lambda p: p["record"].__setitem__("salt", p["record"]["salt"].upper() if any(c.isalpha() for c in p["record"]["salt"]) else "A" + p["record"]["salt"][1:])), 2,
    "salt must be 32 lowercase hex digits")
add("row-mismatch", "the record claims another row than the leaf index",
    edit(R, lambda p: p["record"].__setitem__("row", p["record"]["row"] + 1)), 1,
    "but the record is row")
add("index-out-of-range", "leaf index and row equal to the tree size",
    edit(R, lambda p: (p["record"].__setitem__("row", p["steps"][0]["tree_size"]), p["steps"][0].__setitem__("leaf_index", p["steps"][0]["tree_size"]))), 1,
    "leaf index is not below the tree size")
add("tree-size-wrong", "the dataset step's tree size differs from the dataset's row count",
    edit(R, lambda p: p["steps"][0].__setitem__("tree_size", p["steps"][0]["tree_size"] + 1)), 1,
    "step 1 (record in dataset): tree size")
add("path-trailing-hash", "an extra hash appended to the audit path (rs_merkle would accept it)",
    edit(R, lambda p: p["steps"][0]["audit_path"].append(p["steps"][0]["root"])), 1,
    "audit path is longer than the index and size allow")
add("path-missing-hash", "the last hash of the audit path removed",
    edit(R, lambda p: p["steps"][0]["audit_path"].pop()), 1,
    "audit path is shorter than the index and size require")
add("path-hash-flipped", "one audit path hash changed",
    edit(R, lambda p: p["steps"][0]["audit_path"].__setitem__(0, flip(p["steps"][0]["audit_path"][0]))), 1,
    "step 1 (record in dataset): audit path does not lead to the stated root")
add("step-root-not-committed", "the dataset entry commits to another root than step 1 proves",
    edit(R, lambda p: p["dataset"].__setitem__("root", flip(p["dataset"]["root"]))), 1,
    "step 1 (record in dataset): its root is not the root committed by the next level")
add("dataset-rows-changed", "the dataset entry's row count changed",
    edit(R, lambda p: p["dataset"].__setitem__("rows", 1)), 1, "step 1 (record in dataset): tree size")
add("submission-records-changed", "the submission entry's record count changed",
    edit(R, lambda p: p["submission"].__setitem__("records", 1)), 1,
    "step 3 (submission in block): leaf hash mismatch")
add("submission-id-changed", "the submission id changed",
    edit(R, lambda p: p["submission"].__setitem__("id", "OTHER")), 1,
    "step 3 (submission in block): leaf hash mismatch")
add("submission-path-flipped", "a hash of the dataset-in-submission path changed",
    edit(R, lambda p: p["steps"][1]["audit_path"].__setitem__(0, flip(p["steps"][1]["audit_path"][0]))), 1,
    "step 2 (dataset in submission): audit path does not lead to the stated root")
add("anchor-root-not-committed", "step 3's root is not the header's anchor root",
    edit(R, lambda p: p["steps"][2].__setitem__("root", flip(p["steps"][2]["root"]))), 1,
    "step 3 (submission in block)")
add("steps-out-of-order", "the steps given top-down",
    edit(R, lambda p: p["steps"].reverse()), 1, "proof shape")
add("step-missing", "the block step removed", edit(R, lambda p: p["steps"].pop()), 1, "proof shape")
add("header-byte-flipped", "one byte of the header bytes changed (time)",
    edit(R, lambda p: p["block"].__setitem__("header", p["block"]["header"][:160] + flip(p["block"]["header"][160:]))), 1,
    "block header: decoded fields or height differ from the header bytes")
add("header-fields-edited", "the decoded time changed, the header bytes not",
    edit(R, lambda p: p["block"]["fields"].__setitem__("time", p["block"]["fields"]["time"] + 1)), 1,
    "block header: decoded fields or height differ")
add("block-hash-wrong", "the stated block hash changed",
    edit(R, lambda p: p["block"].__setitem__("hash", flip(p["block"]["hash"]))), 1, "block hash mismatch")
add("header-not-hex", "the header is not hex",
    edit(R, lambda p: p["block"].__setitem__("header", "zz" + p["block"]["header"][2:])), 1, "block header:")
add("header-uppercase", "the header in uppercase hex: the same bytes, another spelling",
    edit(R, lambda p: p["block"].__setitem__("header", p["block"]["header"].upper())), 1,
    "header hex must be lowercase")
add("header-short", "the header is 95 bytes",
    edit(R, lambda p: p["block"].__setitem__("header", p["block"]["header"][:-2])), 1, "header is 95 bytes")


def forge(p):
    # Consistent forgery: a later time in bytes and fields and the hash restated; the nonce no
    # longer gives the claimed work.
    h = bytearray(bytes.fromhex(p["block"]["header"]))
    t = struct.unpack(">Q", h[76:84])[0]
    while True:
        t += 1
        h[76:84] = struct.pack(">Q", t)
        digest = hashlib.sha256(hashlib.sha256(bytes(h)).digest()).digest()
        bits = 0
        for byte in digest:
            if byte == 0:
                bits += 8
                continue
            bits += 8 - byte.bit_length()
            break
        if bits < p["block"]["fields"]["difficulty"]:
            break
    p["block"]["header"] = bytes(h).hex()
    p["block"]["fields"]["time"] = t
    p["block"]["hash"] = digest.hex()


add("insufficient-work", "time changed consistently in bytes, fields and hash: the work is gone",
    edit(R, forge), 1, "proof of work: block hash has")
add("below-min-difficulty", "a good proof, verified with a higher minimum difficulty",
    R, 1, "is below the required minimum 20", args=["--min-difficulty", "20"])
add("values-columns-mismatch", "one value fewer than columns",
    edit(R, lambda p: p["record"]["values"].pop()), 1, "record: ")
add("record-columns-renamed", "a column renamed in the record only",
    edit(R, lambda p: p["record"]["columns"].__setitem__(0, "X")), 1, "column names differ")
add("record-dataset-renamed", "the record names another dataset",
    edit(R, lambda p: p["record"].__setitem__("dataset", "xx")), 1, "record: dataset")
add("record-proof-with-salts", "a record proof that also carries dataset salts",
    edit(R, lambda p: p.__setitem__("salts", [p["record"]["salt"]])), 1, "proof shape")
add("dataset-salts-count", "a dataset proof with one salt missing",
    edit(dataset, lambda p: p["salts"].pop()), 1, "salts for")
add("dataset-proof-with-record", "a dataset proof that carries a record",
    edit(dataset, lambda p: p.__setitem__("record", R["record"])), 1, "proof shape")
add("trailing-garbage", "bytes after the JSON document", None, 2, "not valid JSON",
    raw=json.dumps(R) + "\ngarbage")
add("wrong-version", "version 1: records committed the older way", edit(R, lambda p: p.__setitem__("version", 1)), 2, "proof version 1 is not supported")
add("wrong-format", "another format name", edit(R, lambda p: p.__setitem__("format", "x")), 2, "not a trialnotary proof")
add("unknown-field", "an unknown top-level field", edit(R, lambda p: p.__setitem__("extra", 1)), 2, "malformed proof")
add("not-json", "not JSON at all", None, 2, "not valid JSON", raw="\x00\x01 not json")

with open(os.path.join(HERE, "manifest.json"), "w") as f:
    json.dump(vectors, f, indent=1)
    f.write("\n")
print(len(vectors), "vectors")
