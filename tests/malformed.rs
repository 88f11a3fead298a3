//! Arrow and Parquet files whose parts disagree, from tests/data/malformed (written by pyarrow,
//! then broken by its make.py): each is refused with exit 2, naming the file and what is wrong,
//! and the store is left as it was. Read as the footer or the first stream says, each would
//! give rows the file does not hold as a whole: a batch twice and one never, rows a reader of
//! the footer does not show, a second stream left unread, columns named otherwise than a
//! stream reader names them, a time of day dropped from a date.
//! The intact files made beside them read as written.

mod common;

use std::path::PathBuf;

use common::{Scratch, fingerprint, fixtures};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/malformed")
        .join(name)
}

#[test]
fn intact_files_read_as_written_on_any_thread_count() {
    let s = Scratch::new();
    for (name, rows) in [
        ("date64_days.arrow", 2),
        ("stream.ipc", 2),
        ("three_batches.arrow", 6),
    ] {
        let one = s.notarize_threads(&data(name), "one", 1);
        let four = s.notarize_threads(&data(name), "four", 4);
        let (records, root) = one.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(records, rows, "{name}");
        assert_eq!(four, Ok((records, root)), "{name}");
    }
}

#[test]
fn files_whose_parts_disagree_are_refused() {
    let cases = [
        (
            "date64_time_of_day.arrow",
            "row 0, column v: date64 value 3600000 ms is not a whole number of days",
        ),
        (
            "rows_footer_38.parquet",
            "row group 0 holds 37 rows but its metadata says 38",
        ),
        (
            "rows_footer_36.parquet",
            "row group 0 holds 37 rows but its metadata says 36",
        ),
        (
            "two_streams.ipc",
            "296 bytes follow the end-of-stream marker at byte 288, which would be left unread",
        ),
        (
            "after_end_marker.ipc",
            "8 bytes follow the end-of-stream marker at byte 288",
        ),
        (
            "footer_block_twice.arrow",
            "the footer lists record batches at bytes [136, 136, 456], the file holds them at \
             [136, 296, 456]",
        ),
        (
            "footer_body_short.arrow",
            "the footer gives the message at byte 296 metadata and body lengths 144 and 8, the \
             message has 144 and 16",
        ),
        (
            "footer_schema_renamed.arrow",
            "the footer's schema (gamma Int64) is not the one the file's stream starts with \
             (alpha Int64)",
        ),
        (
            "footer_blocks_reversed.arrow",
            "the footer lists record batches at bytes [456, 296, 136], the file holds them at \
             [136, 296, 456]",
        ),
    ];
    let s = Scratch::new();
    s.notarize(&[&fixtures().join("cdiscpilot01")], &[]);
    let before = fingerprint(&s.store());
    for (name, needle) in cases {
        let path = data(name).display().to_string();
        for threads in ["1", "4"] {
            let r = std::process::Command::new(env!("CARGO_BIN_EXE_trialnotary"))
                .args(["notarize", "--difficulty", "4", &path])
                .env("RAYON_NUM_THREADS", threads)
                .current_dir(s.path())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&r.stderr);
            assert_eq!(r.status.code(), Some(2), "{name}: {stderr}");
            assert!(stderr.contains(name), "{name}: {stderr}");
            assert!(
                stderr.contains(needle),
                "{name}: expected {needle:?} in {stderr}"
            );
            assert_eq!(fingerprint(&s.store()), before, "{name}: the store changed");
        }
    }
}
