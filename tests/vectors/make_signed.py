"""Writes the signed-checkpoint vectors in signed/ and adds them to manifest.json.

A sponsor key and two witness keys sign and cosign checkpoints of a two-block chain made by
`trialnotary` from the sample data; the broken-on-purpose notes, checkpoints and trust stores are
then written here, signed with the same keys by the `cryptography` package (Ed25519), so that
each rule of C2SP signed-note, tlog-cosignature and tlog-policy that the verifiers enforce has a
vector. Run after make_vectors.py, from this directory:

    python3 make_vectors.py && python3 make_signed.py ../../target/release/trialnotary
"""

import base64
import copy
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/trialnotary"))
OUT = os.path.join(HERE, "signed")
ORIGIN = "sponsor.example/TNSTUDY01"
EM = "\u2014"


def run(*args, cwd):
    return subprocess.run([BIN, *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


class Key:
    """A signed-note key read from trialnotary's private key file."""

    def __init__(self, path):
        text = open(path).read().strip()
        _, _, name, _, b64 = text.split("+", 4)
        raw = base64.b64decode(b64)
        self.name, self.alg = name, raw[0]
        self.sk = Ed25519PrivateKey.from_private_bytes(raw[1:])
        self.pub = self.sk.public_key().public_bytes_raw()
        self.id = key_id(name, self.alg, self.pub)

    def vkey(self, name=None):
        name = name or self.name
        return f"{name}+{key_id(name, self.alg, self.pub).hex()}+{base64.b64encode(bytes([self.alg]) + self.pub).decode()}"

    def sign(self, text, name=None):
        sig = self.sk.sign(text.encode())
        return line(name or self.name, key_id(name or self.name, self.alg, self.pub), sig)

    def cosign(self, text, time, name=None):
        msg = f"cosignature/v1\ntime {time}\n{text}".encode()
        body = struct.pack(">Q", time) + self.sk.sign(msg)
        return line(name or self.name, key_id(name or self.name, self.alg, self.pub), body)


def key_id(name, alg, pub):
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + pub).digest()[:4]


def line(name, kid, sig):
    return f"{EM} {name} {base64.b64encode(kid + sig).decode()}"


def note(text, lines):
    return text + "\n" + "".join(l + "\n" for l in lines)


def body(size, tip_hex, time, origin=ORIGIN):
    return f"{origin}\n{size}\n{base64.b64encode(bytes.fromhex(tip_hex)).decode()}\ntime {time}\n"


shutil.rmtree(OUT, ignore_errors=True)
os.makedirs(OUT)
work = tempfile.mkdtemp()
vkey = run("key", "generate", "--name", ORIGIN, cwd=work).strip()
run("key", "generate", "--witness", "--name", "witness-a.example", "-o", "wa.key", cwd=work)
run("key", "generate", "--witness", "--name", "witness-b.example", "-o", "wb.key", cwd=work)
sponsor, wa, wb = Key(os.path.join(work, "notary/signing.key")), Key(os.path.join(work, "wa.key")), Key(os.path.join(work, "wb.key"))
assert vkey == sponsor.vkey(), (vkey, sponsor.vkey())
run("notarize", "--difficulty", "12", "--no-progress", os.path.join(ROOT, "fixtures/cdiscpilot01"), cwd=work)
run("notarize", "--difficulty", "12", "--no-progress", os.path.join(ROOT, "fixtures/crossformat/csv"), cwd=work)
shutil.copy(os.path.join(work, "notary/chain.tnc"), os.path.join(OUT, "chain.tnc"))
blocks = json.loads(run("chain", "show", "--json", cwd=work))["blocks"]

# Block 0's checkpoint, cosigned by both witnesses (times fixed so the vectors are stable to read).
text0 = body(1, blocks[0]["hash"], blocks[0]["time"])
good_note = note(text0, [sponsor.sign(text0), wa.cosign(text0, 1790000001), wb.cosign(text0, 1790000002)])
open(os.path.join(work, "cp0.note"), "w").write(good_note)
run("prove", "--submission", "cdiscpilot01", "--dataset", "lb", "--row", "7", "--height", "0",
    "--checkpoint", "cp0.note", "-o", os.path.join(OUT, "good-record.json"), cwd=work)
good = json.load(open(os.path.join(OUT, "good-record.json")))
text1 = body(2, blocks[1]["hash"], blocks[1]["time"])
tip_note = note(text1, [sponsor.sign(text1), wa.cosign(text1, 1790000003), wb.cosign(text1, 1790000004)])

vectors = []


def write(name, content):
    path = os.path.join(OUT, name)
    with open(path, "w", newline="") as f:
        f.write(content)
    return "signed/" + name


def proof(name, checkpoint):
    p = copy.deepcopy(good)
    if checkpoint is None:
        p.pop("checkpoint", None)
    else:
        p["checkpoint"] = checkpoint
    return write(name, json.dumps(p, indent=1))


def case(description, file, args, exit_code, reason, code=None):
    v = {"file": file, "description": description, "args": args, "exit": exit_code, "reason": reason}
    if code:
        v["code"] = code
    vectors.append(v)


trust = write("trust.txt", f"# the regulator's trust store\nlog {sponsor.vkey()}\nwitness {wa.vkey()}\n"
              f"witness {wb.vkey()}\nwitnesses 2\nmin-difficulty 12\n")
trust1 = write("trust-1.txt", f"log {sponsor.vkey()}\nwitness {wa.vkey()}\nwitness {wb.vkey()}\nwitnesses 1\n")
chain = "signed/chain.tnc"
good_file = "signed/good-record.json"

case("a checkpoint cosigned by both witnesses the trust store requires", good_file, ["--trust", trust], 0,
     "cosigned by witness-a.example, witness-b.example")
case("the same witness listed twice to count one cosignature twice", good_file,
     ["--trust", write("trust-dup-line.txt", f"log {sponsor.vkey()}\nwitness {wa.vkey()}\nwitness {wa.vkey()}\nwitnesses 2\n")],
     2, "is already listed on line 2", "unusable-trust-store")
twin = write("trust-two-names.txt", f"log {sponsor.vkey()}\nwitness {wa.vkey()}\nwitness {wa.vkey('twin.example')}\nwitnesses 2\n")
case("one witness key listed under two names", proof("twin-cosigned.json",
     note(text0, [sponsor.sign(text0), wa.cosign(text0, 1790000001), wa.cosign(text0, 1790000001, name="twin.example")])),
     ["--trust", twin], 2, "already listed on line 2 (as witness-a.example)", "unusable-trust-store")
case("without a trust store, the checkpoint's signers are not named", good_file, ["--chain", chain], 0,
     "its signers are unverified")
zeros = note(text0, [line(ORIGIN, sponsor.id, bytes(64)), line("witness-a.example", wa.id, bytes(72))])
case("a checkpoint of all-zero signatures, without a trust store: unverified, not named",
     proof("zero-signatures.json", zeros), ["--chain", chain], 0, "its signers are unverified")
case("a checkpoint of all-zero signatures, under a trust store", "signed/zero-signatures.json", ["--trust", trust1], 1,
     f"the signature by {ORIGIN}", "checkpoint")
bad_b = wb.cosign(text0, 1790000002)
raw = bytearray(base64.b64decode(bad_b.split(" ")[2]))
raw[30] ^= 1
bad_b = line("witness-b.example", bytes(raw[:4]), bytes(raw[4:]))
case("a bad cosignature by a trusted witness beside a good one rejects the whole note",
     proof("bad-beside-good.json", note(text0, [sponsor.sign(text0), wa.cosign(text0, 1790000001), bad_b])),
     ["--trust", trust1], 1, "the signature by witness-b.example", "checkpoint")
junk = [line(f"junk{i}.example", bytes(4), bytes(64)) for i in range(98)]
case("101 signature lines", proof("101-signatures.json", note(text0, [sponsor.sign(text0), wa.cosign(text0, 1), wb.cosign(text0, 2)] + junk)),
     ["--trust", trust1], 1, "more than 100 signature lines", "checkpoint")
case("100 signature lines, 97 of unknown keys: ignored", proof("100-signatures.json",
     note(text0, [sponsor.sign(text0), wa.cosign(text0, 1), wb.cosign(text0, 2)] + junk[:97])),
     ["--trust", trust], 0, "VALID")
case("a checkpoint file of more than 64 KiB", good_file,
     ["--trust", trust, "--checkpoint", write("huge.note", "x" * 70000 + "\n\n" + sponsor.sign("x") + "\n")], 2,
     "more than the 65536 accepted", "unusable-checkpoint")
later = proof("later-tip.json", tip_note)
case("a checkpoint of a later tip, no trust store: not connected, and not a failure", later, ["--tip", good["block"]["hash"]], 0,
     "its signers are unverified")
case("a checkpoint of a later tip under a trust store without the chain to connect them", later, ["--trust", trust], 1,
     "give a chain copy (--chain) to connect them", "not-covered")
case("a checkpoint of a later tip connected by the chain copy", later, ["--trust", trust, "--chain", chain], 0,
     "covered by a checkpoint signed by trusted key")
late = body(1, blocks[0]["hash"], blocks[0]["time"] + 1)
case("a checkpoint whose time line is not its tip block's time",
     proof("checkpoint-time.json", note(late, [sponsor.sign(late), wa.cosign(late, 5), wb.cosign(late, 6)])),
     ["--trust", trust1], 1, "the checkpoint says time", "checkpoint")
empty = body(0, "00" * 32, 0)
size0 = write("size-0.note", note(empty, [sponsor.sign(empty), wa.cosign(empty, 5)]))
case("a checkpoint of an empty chain (size 0) is a checkpoint", good_file, ["--chain", chain, "--checkpoint", size0], 0,
     "its signers are unverified")
case("a checkpoint of an empty chain covers no block", good_file, ["--trust", trust1, "--checkpoint", size0], 1,
     "the checkpoint covers 0 blocks", "not-covered")
for name, bad_time in [("time-plus", "+" + str(blocks[0]["time"])), ("time-zeros", "000" + str(blocks[0]["time"]))]:
    t = text0.replace(f"time {blocks[0]['time']}", f"time {bad_time}")
    case(f"a checkpoint time written {bad_time!r}", proof(name + ".json", note(t, [sponsor.sign(t), wa.cosign(t, 5)])),
         ["--chain", chain], 1, "in canonical decimal", "checkpoint")
case("a cosignature timestamp of 2^63", proof("cosign-2-63.json",
     note(text0, [sponsor.sign(text0), wa.cosign(text0, 2**63), wb.cosign(text0, 7)])), ["--trust", trust1], 1,
     "exceeds 2^63 - 1", "checkpoint")
c1_name = "witness\u0080c1.example"
wc = copy.copy(wa)
c1 = write("trust-c1.txt", f"log {sponsor.vkey()}\nwitness {wa.vkey(c1_name)}\nwitnesses 1\n")
case("C1 and DEL characters in a note are text (only controls below U+0020 are banned)",
     proof("del-c1.json", note(text0, [sponsor.sign(text0), wa.cosign(text0, 5, name=c1_name), line("x\u007fy", bytes(4), bytes(64))])),
     # People read the name escaped: a C1 character can drive a terminal.
     ["--trust", c1], 0, "cosigned by witness\\u{80}c1.example")
hash_name = "witness#1.example"
case("a '#' in a key name is part of the name", proof("hash-name.json", note(text0, [sponsor.sign(text0), wa.cosign(text0, 5, name=hash_name)])),
     ["--trust", write("trust-hash.txt", f"log {sponsor.vkey()}\nwitness {wa.vkey(hash_name)}\nwitnesses 1\n")], 0,
     f"cosigned by {hash_name}")
upper = copy.deepcopy(good)
upper["steps"][0]["leaf_hash"] = upper["steps"][0]["leaf_hash"].upper()
case("a hash in uppercase hex: one spelling only", write("hash-uppercase.json", json.dumps(upper, indent=1)),
     ["--chain", chain], 2, "not lowercase hex digits", "unusable-proof")

# A proof at height 2^64 - 1, consistent and mined, carrying a checkpoint of size 2^64 - 1:
# arithmetic on heights from untrusted input must not overflow.
high = copy.deepcopy(good)
header = bytearray(bytes.fromhex(high["block"]["header"]))
header[4:12] = struct.pack(">Q", 2**64 - 1)
nonce = 0
while True:
    header[88:96] = struct.pack(">Q", nonce)
    digest = hashlib.sha256(hashlib.sha256(bytes(header)).digest()).digest()
    if int.from_bytes(digest, "big") >> (256 - 12) == 0:
        break
    nonce += 1
high["block"]["header"] = bytes(header).hex()
high["block"]["hash"] = digest.hex()
high["block"]["height"] = 2**64 - 1
high["block"]["fields"]["height"] = 2**64 - 1
high["block"]["fields"]["nonce"] = nonce
tmax = body(2**64 - 1, digest.hex(), high["block"]["fields"]["time"])
high["checkpoint"] = note(tmax, [sponsor.sign(tmax)])
high_file = write("height-max.json", json.dumps(high, indent=1))
case("a proof at height 2^64 - 1 with a checkpoint of size 2^64 - 1 (self-contained)", high_file, ["--self-contained"], 0,
     "VALID (self-contained only)")
case("a proof at height 2^64 - 1 against a chain copy", high_file, ["--chain", chain], 1,
     "none at height 18446744073709551615", "not-in-chain")

manifest_path = os.path.join(HERE, "manifest.json")
manifest = [v for v in json.load(open(manifest_path)) if not v["file"].startswith("signed/")]
manifest.extend(vectors)
with open(manifest_path, "w") as f:
    json.dump(manifest, f, indent=1, ensure_ascii=False)
    f.write("\n")
shutil.rmtree(work)
print(len(vectors), "signed vectors,", len(manifest), "in all")
