//! Cutting a block into pieces, at newlines outside quoted fields.
//!
//! Where to cut is first guessed from quote parity (an even number of `"` since the block's
//! start), which is exact for RFC 4180, where a literal quote is written twice. A quote inside
//! an unquoted field (`5'1"`) is literal to the csv crate and shifts the parity, so every piece
//! also proves that it ends where the csv crate ends a record ([`super::boundary`]); from the
//! first piece that does not, the rest of the block is read sequentially with csv-core to find
//! the record ends, and cut there. Counting quotes is a `memchr` pass, much cheaper than
//! csv-core's byte-by-byte reading, which each piece then does for its last record only.

fn count_quotes(bytes: &[u8]) -> usize {
    memchr::memchr_iter(b'"', bytes).count()
}

/// End (exclusive) of the last complete record in `buf`: just past the last newline outside
/// quotes. `None` when there is none.
pub(super) fn last_record_end(buf: &[u8]) -> Option<usize> {
    let mut odd_total = count_quotes(buf) % 2 == 1;
    let mut search_end = buf.len();
    let mut after = buf.len();
    while let Some(nl) = memchr::memrchr(b'\n', &buf[..search_end]) {
        // Quotes between this newline and the previous candidate flip the parity back.
        odd_total ^= count_quotes(&buf[nl + 1..after]) % 2 == 1;
        after = nl + 1;
        if !odd_total {
            return Some(nl + 1);
        }
        search_end = nl;
    }
    None
}

/// Cuts `buf` (whole records) into about `n` pieces at newlines outside quotes (at any newline
/// when `quoted` is false: `buf` has no quote); returns the boundaries, starting with 0 and
/// ending with `buf.len()`.
pub(super) fn split_points(buf: &[u8], n: usize, quoted: bool) -> Vec<usize> {
    let mut points = vec![0];
    let mut pos = 0;
    let mut odd = false;
    for k in 1..n {
        let target = buf.len() * k / n;
        if target <= pos {
            continue;
        }
        if !quoted {
            match memchr::memchr(b'\n', &buf[target..]) {
                Some(i) => {
                    pos = target + i + 1;
                    points.push(pos);
                    continue;
                }
                None => break,
            }
        }
        odd ^= count_quotes(&buf[pos..target]) % 2 == 1;
        pos = target;
        while let Some(i) = memchr::memchr(b'\n', &buf[pos..]) {
            odd ^= count_quotes(&buf[pos..pos + i]) % 2 == 1;
            pos += i + 1;
            if !odd {
                points.push(pos);
                break;
            }
        }
        if pos >= buf.len() {
            break;
        }
    }
    if *points.last().unwrap_or(&0) != buf.len() {
        points.push(buf.len());
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_only_outside_quotes() {
        let buf = b"a,\"x\ny\"\nb,c\n\"\"\"q\n\",d\ne,f\n";
        let points = split_points(buf, 8, true);
        for p in &points[1..points.len() - 1] {
            assert_eq!(
                count_quotes(&buf[..*p]) % 2,
                0,
                "split at {p} is inside quotes"
            );
            assert_eq!(buf[p - 1], b'\n');
        }
        assert_eq!(last_record_end(b"a,b\nc,\"d\ne"), Some(4));
        assert_eq!(last_record_end(b"a,\"b\nc"), None);
    }
}
