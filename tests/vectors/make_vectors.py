"""Writes the broken-on-purpose proof vectors in broken/ and their manifest from the good proofs.

Each vector changes one thing in a good proof; manifest.json says what, which exit code `verify`
must give, and the reason its output must name. Run from this directory: python3 make_vectors.py
(the good proofs and chain.tnc come from `trialnotary prove` on the sample at difficulty 12).

good-record.json and good-dataset.json are format version 2 proofs (still read: a regulator may
hold proofs made by an older release); v3/ holds version 3 proofs of every kind (record, dataset
with salts, document, submission) of the eCTD sample, made with:

    trialnotary notarize fixtures/ectd/0000 --store S --difficulty 12
    trialnotary prove --store S --submission 0000 --dataset lb --row 7 -o v3/good-record.json
    trialnotary prove --store S --submission 0000 --dataset adsl --with-salts -o v3/good-dataset.json
    trialnotary prove --store S --submission 0000 --file sdtm/define.xml -o v3/good-document.json
    trialnotary prove --store S --submission 0000 -o v3/good-submission.json

and S/chain.tnc copied to v3/chain.tnc.
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


# What a regulator trusts by default in these vectors: the chain copy beside them. Every vector
# runs from this directory, so paths are relative to it.
ANCHOR = ["--chain", "chain.tnc"]


def add(name, description, proof, exit_code, reason, args=ANCHOR, raw=None, code=None):
    path = os.path.join(HERE, "broken", name + ".json")
    with open(path, "w") as f:
        f.write(raw if raw is not None else json.dumps(proof, indent=1))
    v = {"file": "broken/" + name + ".json", "description": description, "args": list(args),
         "exit": exit_code, "reason": reason}
    if code is not None:
        v["code"] = code
    vectors.append(v)


def case(description, file, args, exit_code, reason, code=None):
    """A vector that is a good proof checked against other evidence (or none)."""
    v = {"file": file, "description": description, "args": list(args), "exit": exit_code,
         "reason": reason}
    if code is not None:
        v["code"] = code
    vectors.append(v)


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
    R, 1, "is below the required minimum 20", args=ANCHOR + ["--min-difficulty", "20"])
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

# --- What the verifier trusts: anchors, tips and chain copies -------------------------------

case("a good proof with nothing to anchor it in: the verifier must say what it trusts",
     "good-record.json", [], 2, "nothing you trust anchors the proof's block", code="no-anchor")
case("a good proof checked for internal consistency alone, on request",
     "good-record.json", ["--self-contained"], 0, "VALID (self-contained only)")
case("a good proof whose block is the tip the verifier trusts",
     "good-record.json", ["--tip", R["block"]["hash"]], 0, "VALID")
case("a good proof checked against a tip hash it does not lead to",
     "good-record.json", ["--tip", flip(R["block"]["hash"])], 1, "not the trusted tip",
     code="not-anchored")
case("a tip that is not a block hash", "good-record.json", ["--tip", "xyz"], 2,
     "--tip \"xyz\" is not a block hash", code="unusable-tip")
case("a chain copy that does not exist", "good-record.json", ["--chain", "missing.tnc"], 2,
     "cannot read chain copy missing.tnc", code="unreadable-input")

os.makedirs(os.path.join(HERE, "chains"), exist_ok=True)
CHAIN = open(os.path.join(HERE, "chain.tnc"), "rb").read()
H0 = bytes.fromhex(R["block"]["header"])


def entry(header, subs):
    payload = header + struct.pack(">I", len(subs))
    for sub in subs:
        payload += struct.pack(">I", len(sub)) + sub
    body = b"TNB1" + struct.pack(">I", len(payload)) + payload
    return body + hashlib.sha256(body).digest()


def sub_entry(id_, records=1):
    # RFC 8785: keys in order, no whitespace; the root is any 64 hex digits.
    return json.dumps({"datasets": 1, "id": id_, "records": records, "root": "ab" * 32},
                      separators=(",", ":")).encode()


def leaf(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node(a, b):
    return hashlib.sha256(b"\x01" + a + b).digest()


def zero_bits(digest):
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def block(height, prev, subs, time, difficulty, mine=True):
    leaves = [leaf(s) for s in subs]
    root = hashlib.sha256(b"").digest() if not leaves else leaves[0]
    if len(leaves) == 2:
        root = node(leaves[0], leaves[1])
    nonce = 0
    while True:
        header = (struct.pack(">IQ", 1, height) + prev + root + struct.pack(">QIQ", time, difficulty, nonce))
        digest = hashlib.sha256(hashlib.sha256(header).digest()).digest()
        if not mine or zero_bits(digest) >= difficulty:
            return header, digest
        nonce += 1


def chain_case(name, description, subs, time, difficulty, exit_code, reason, mine=True):
    prev = hashlib.sha256(hashlib.sha256(H0).digest()).digest()
    header, _ = block(1, prev, subs, time, difficulty, mine)
    with open(os.path.join(HERE, "chains", name + ".tnc"), "wb") as f:
        f.write(CHAIN + entry(header, subs))
    case(description, "good-record.json", ["--chain", "chains/" + name + ".tnc"], exit_code, reason,
         code="unusable-chain")


T0 = R["block"]["fields"]["time"]
chain_case("time-backwards", "block 1's time is before block 0's", [sub_entry("S1")], T0 - 1, 8, 2,
           "is before the previous block's")
chain_case("time-too-late", "block 1's time is 2^63, beyond any date", [sub_entry("S1")], 2**63, 8, 2,
           "is after 9999-12-31T23:59:59Z")
chain_case("time-in-future", "block 1's time is in the year 5000", [sub_entry("S1")], 95617584000, 8, 2,
           "is more than a day after this verifier's clock")
chain_case("zero-difficulty", "block 1 claims no proof of work", [sub_entry("S1")], T0, 0, 2,
           "a block must carry proof of work")
chain_case("no-submission", "block 1 anchors no submission", [], T0, 8, 2, "the block anchors no submission")
chain_case("unsorted-submissions", "block 1's submissions are not sorted by id",
           [sub_entry("S2"), sub_entry("S1")], T0, 8, 2, "not sorted by unique id")
chain_case("insufficient-work", "block 1's hash does not meet its difficulty", [sub_entry("S1")], T0, 40, 2,
           "leading zero bits, difficulty is 40", mine=False)
with open(os.path.join(HERE, "chains", "torn.tnc"), "wb") as f:
    f.write(CHAIN + CHAIN[:50])
case("a chain copy whose last entry was cut short (torn)", "good-record.json", ["--chain", "chains/torn.tnc"],
     2, "torn tail at byte offset", code="unusable-chain")
corrupt = bytearray(CHAIN)
corrupt[120] ^= 1
with open(os.path.join(HERE, "chains", "corrupt.tnc"), "wb") as f:
    f.write(bytes(corrupt))
case("a chain copy with a flipped byte in its only block", "good-record.json",
     ["--chain", "chains/corrupt.tnc"], 2, "block at height 0 (byte offset 0) is corrupt",
     code="unusable-chain")

# --- Format version 3: documents and submissions ----------------------------------------------

V3 = os.path.join(HERE, "v3")
V3_ANCHOR = ["--chain", "v3/chain.tnc"]
GOOD3 = {k: json.load(open(os.path.join(V3, f"good-{k}.json")))
         for k in ["record", "dataset", "document", "submission"]}
for k in GOOD3:
    case(f"a good version 3 {k} proof", f"v3/good-{k}.json", V3_ANCHOR, 0, "VALID")
case("a good version 2 record proof is still read", "good-record.json", ANCHOR, 0, "VALID")
D3, S3, R3 = GOOD3["document"], GOOD3["submission"], GOOD3["record"]


def add3(name, description, proof, exit_code, reason, raw=None):
    add("v3-" + name, description, proof, exit_code, reason, args=V3_ANCHOR, raw=raw)


add3("document-sha256-changed", "a document's SHA-256 changed (the file is another)",
     edit(D3, lambda p: p["document"].__setitem__("sha256", flip(p["document"]["sha256"]))), 1,
     "step 1 (document in submission): leaf hash mismatch")
add3("document-bytes-changed", "a document's size changed",
     edit(D3, lambda p: p["document"].__setitem__("bytes", p["document"]["bytes"] + 1)), 1,
     "step 1 (document in submission): leaf hash mismatch")
add3("document-path-changed", "a document claimed at another path",
     edit(D3, lambda p: p["document"].__setitem__("path", "m5/define.xml")), 1,
     "step 1 (document in submission): leaf hash mismatch")
add3("document-sha256-uppercase", "a document's SHA-256 in uppercase hex: one spelling only",
     edit(D3, lambda p: p["document"].__setitem__("sha256", p["document"]["sha256"].upper())), 2,
     "unusable proof")
add3("documents-count-changed", "the submission entry counts one document fewer",
     edit(D3, lambda p: p["submission"].__setitem__("documents", p["submission"]["documents"] - 1)), 1,
     "tree size 17 but the next level commits to 16")
add3("documents-count-zero", "the submission entry spells out zero documents (omitted when zero)",
     edit(S3, lambda p: p["submission"].__setitem__("documents", 0)), 2,
     '"documents" is written only when there are documents')
add3("document-proof-with-dataset", "a document proof that also carries a dataset entry",
     edit(D3, lambda p: p.__setitem__("dataset", R3["dataset"])), 1, "proof shape")
add3("submission-proof-with-step", "a submission proof with a submission step added",
     edit(S3, lambda p: p["steps"].insert(0, D3["steps"][0])), 1, "proof shape")
add3("submission-anchor-path-flipped", "a submission proof's anchor path changed",
     edit(S3, lambda p: p["steps"][0].__setitem__("leaf_hash", flip(p["steps"][0]["leaf_hash"]))), 1,
     "step 1 (submission in block)")
add3("kind-unknown", "a kind this version does not define",
     edit(S3, lambda p: p.__setitem__("kind", "folder")), 2, "unusable proof")
add3("document-in-version-2", "a document proof labelled version 2, which had no documents",
     edit(D3, lambda p: p.__setitem__("version", 2)), 1,
     "a version 2 proof cannot be a document proof")
add3("leaves-in-version-2", "a dataset proof with leaves labelled version 2, which had none",
     edit(GOOD3["dataset"], lambda p: p.__setitem__("version", 2)), 1,
     'a version 2 proof cannot carry "leaves"')
add3("documents-in-version-2", "a record proof of a submission with documents labelled version 2",
     edit(R3, lambda p: p.__setitem__("version", 2)), 1,
     "a version 2 proof's submission cannot count documents")
add("kind-as-object", "the kind written as serde's one-key object, not its name: one spelling only",
    edit(R, lambda p: p.__setitem__("kind", {"record": None})), 2,
    "invalid type: map, expected a string")
add("block-as-array", "the block written as an array of its fields, not an object: one spelling only",
    edit(R, lambda p: p.__setitem__("block", list(p["block"].values()))), 2,
    "invalid type: sequence, expected a JSON object")
add("documents-zero-spelled", "a submission entry that spells out zero documents (written only "
    "when there are some)", edit(R, lambda p: p["submission"].__setitem__("documents", 0)), 2,
    '"documents" is written only when there are documents')

with open(os.path.join(HERE, "manifest.json"), "w") as f:
    json.dump(vectors, f, indent=1)
    f.write("\n")
print(len(vectors), "vectors")
