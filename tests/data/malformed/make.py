"""Writes the malformed Arrow and Parquet files of tests/malformed.rs with pyarrow (an independent
writer), then breaks them the way a damaged or hand-edited file is broken. The outputs are
committed; rerun with `python3 make.py` (pyarrow) from this folder to write them again."""
import io
import struct

import pyarrow as pa
import pyarrow.feather as pf
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

# date64 counts milliseconds and holds whole days: one with a time of day, and one without.
pf.write_feather(pa.table({"v": pa.array([0, 86_400_000], type=pa.date64())}),
                 "date64_days.arrow", compression="uncompressed")
pf.write_feather(pa.table({"v": pa.array([3_600_000, 86_400_000 + 43_200_000], type=pa.date64())}),
                 "date64_time_of_day.arrow", compression="uncompressed")

# Parquet of 37 rows whose footer says 38, or 36 (the file's count and its row group's).
buf = io.BytesIO()
pq.write_table(pa.table({"a": pa.array(range(37), type=pa.int64())}), buf,
               compression="none", write_statistics=False)
b = buf.getvalue()
flen = struct.unpack("<i", b[-8:-4])[0]
fs = len(b) - 8 - flen
foot = bytes(b[fs:-8])
# Thrift compact: an i64 field 3 (num_rows) of 37 is 0x16 then zigzag 37 = 0x4a.
hits = [i for i in range(len(foot) - 1) if foot[i] == 0x16 and foot[i + 1] == 0x4a]
for new, name in [(0x4c, "rows_footer_38.parquet"), (0x48, "rows_footer_36.parquet")]:
    f = bytearray(foot)
    for i in hits:
        g = bytearray(foot)
        g[i + 1] = new
        m = pq.ParquetFile(io.BytesIO(b[:fs] + bytes(g) + b[-8:])).metadata
        if m.num_rows != 37 or m.row_group(0).num_rows != 37:
            f[i + 1] = new
    out = b[:fs] + bytes(f) + b[-8:]
    m = pq.ParquetFile(io.BytesIO(out)).metadata
    assert m.num_rows == m.row_group(0).num_rows != 37, name
    open(name, "wb").write(out)


def stream(values):
    s = io.BytesIO()
    t = pa.table({"a": pa.array(values, type=pa.int64())})
    w = ipc.new_stream(s, t.schema)
    w.write_table(t)
    w.close()  # writes the end-of-stream marker
    return s.getvalue()


# A stream, two streams one after the other, and a stream with bytes after its marker.
open("stream.ipc", "wb").write(stream([1, 2]))
open("two_streams.ipc", "wb").write(stream([1, 2]) + stream([3, 4]))
open("after_end_marker.ipc", "wb").write(stream([1, 2]) + b"garbage!")

# A file of three batches (1,2 / 3,4 / 5,6) whose footer lists the first twice, or in reverse.
sch = pa.schema([("a", pa.int64())])
s = io.BytesIO()
w = ipc.new_file(s, sch)
for v in ([1, 2], [3, 4], [5, 6]):
    w.write_batch(pa.record_batch([pa.array(v, type=pa.int64())], schema=sch))
w.close()
b = bytearray(s.getvalue())
flen = struct.unpack("<i", b[-10:-6])[0]
fs = len(b) - 10 - flen
foot = bytes(b[fs:fs + flen])
# The footer's Block vector: three structs of 24 bytes (offset i64, metaDataLength i32, padding,
# bodyLength i64), each batch right after the one before.
for i in range(0, flen - 72, 4):
    bl = [struct.unpack("<qiiq", foot[i + 24 * k:i + 24 * k + 24]) for k in range(3)]
    if (all(x[2] == 0 and x[0] > 0 and x[0] % 8 == 0 for x in bl)
            and bl[0][0] < bl[1][0] < bl[2][0] and bl[0][0] + bl[0][1] + bl[0][3] == bl[1][0]):
        break
else:
    raise SystemExit("no Block vector found")
open("three_batches.arrow", "wb").write(bytes(b))
dup = bytearray(b)
dup[fs + i + 24:fs + i + 48] = foot[i:i + 24]
open("footer_block_twice.arrow", "wb").write(bytes(dup))
rev = bytearray(b)
rev[fs + i:fs + i + 24] = foot[i + 48:i + 72]
rev[fs + i + 48:fs + i + 72] = foot[i:i + 24]
open("footer_blocks_reversed.arrow", "wb").write(bytes(rev))
# The second block's body declared 8 bytes short.
short = bytearray(b)
offset, meta, pad, body = struct.unpack("<qiiq", foot[i + 24:i + 48])
short[fs + i + 24:fs + i + 48] = struct.pack("<qiiq", offset, meta, pad, body - 8)
open("footer_body_short.arrow", "wb").write(bytes(short))
for name in ["footer_block_twice.arrow", "footer_blocks_reversed.arrow"]:
    print(name, "pyarrow reads", ipc.open_file(open(name, "rb").read()).read_all()["a"].to_pylist())

# A file whose footer's copy of the schema names its column `gamma`, its stream's `alpha`.
sch = pa.schema([("alpha", pa.int64())])
s = io.BytesIO()
w = ipc.new_file(s, sch)
w.write_batch(pa.record_batch([pa.array([1, 2], type=pa.int64())], schema=sch))
w.close()
b = bytearray(s.getvalue())
flen = struct.unpack("<i", b[-10:-6])[0]
fs = len(b) - 10 - flen
k = bytes(b[fs:]).index(b"\x05\x00\x00\x00alpha")
b[fs + k + 4:fs + k + 9] = b"gamma"
open("footer_schema_renamed.arrow", "wb").write(bytes(b))
print("footer_schema_renamed.arrow pyarrow reads", ipc.open_file(bytes(b)).schema.names,
      "as a stream", ipc.open_stream(bytes(b[8:])).schema.names)
