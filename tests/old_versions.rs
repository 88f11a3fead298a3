//! Old versions stay provable: after a submission changes and is anchored again, a row of the
//! earlier version is proved from the block that anchored it, read from an archived copy.

mod common;

use common::{Scratch, fixtures};

#[test]
fn earlier_version_is_proved_from_its_own_block() {
    let s = Scratch::new();
    let lb = std::fs::read_to_string(fixtures().join("crossformat/csv/lb.csv")).unwrap();
    s.write("sub/lb.csv", lb.as_bytes());
    let first = s.notarize(&[&s.path().join("sub")], &["--id", "S"]);
    let t0 = first["block"]["time"].as_u64().unwrap();
    // The archive keeps the submission as it was; the live copy changes and is anchored again.
    s.write("sub_v0/lb.csv", lb.as_bytes());
    // Block times are seconds: let the second block get a later one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let line = lb.lines().nth(4).unwrap();
    let edited = line.replacen("\"NORMAL\"", "\"HIGH\"", 1);
    assert_ne!(line, edited);
    s.write("sub/lb.csv", lb.replacen(line, &edited, 1).as_bytes());
    let second = s.notarize(&[&s.path().join("sub")], &["--id", "S"]);
    assert_eq!(second["block"]["height"], 1);
    let t1 = second["block"]["time"].as_u64().unwrap();
    assert!(t1 > t0);

    let prove = |extra: &[&str]| {
        let mut args = vec![
            "prove",
            "--submission",
            "S",
            "--dataset",
            "lb",
            "--data",
            "sub_v0",
        ];
        args.extend(extra);
        s.run(&args)
    };
    // The latest block holds the changed row: the archived copy does not prove against it.
    let r = prove(&["--row", "3"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("row 3: differs from the notarized record in block 1"),
        "{}",
        r.stderr
    );
    // From block 0, by height or by time, it does; every proof kind.
    for (at, out) in [
        (vec!["--height", "0"], "h.json"),
        (vec!["--at", &t0.to_string()], "t.json"),
    ] {
        let mut args = at.clone();
        args.extend(["--row", "3", "-o", out]);
        let r = prove(&args);
        assert_eq!(r.code, 0, "{at:?}: {}", r.stderr);
        let v = s
            .ok(&["verify", out, "--chain", "notary/chain.tnc", "--json"])
            .json();
        assert_eq!(v["block"]["height"], 0, "{at:?}");
        assert_eq!(v["confirmations"], 1);
    }
    let mut args = vec!["--height", "0", "--all-rows", "-o", "all.ndjson"];
    assert_eq!(prove(&args).code, 0);
    s.ok(&["verify", "all.ndjson", "--chain", "notary/chain.tnc"]);
    args = vec!["--height", "0", "-o", "d.json"];
    assert_eq!(prove(&args).code, 0);
    s.ok(&["verify", "d.json", "--chain", "notary/chain.tnc"]);
    // A date: the end of that day (UTC) selects the latest block before it.
    let r = prove(&["--at", "2999-01-01", "--row", "3"]);
    assert!(r.stderr.contains("in block 1"), "{}", r.stderr);
    // Before the first anchoring, or at a height that does not anchor it: the heights are named.
    for at in [&["--at", &(t0 - 1).to_string()][..], &["--height", "7"]] {
        let r = prove(&[at, &["--row", "3"]].concat());
        assert_eq!(r.code, 2, "{at:?}");
        assert!(
            r.stderr.contains(&format!(
                "the blocks that anchor it are at heights 0 (time {t0}), 1 (time {t1})"
            )),
            "{}",
            r.stderr
        );
    }
}
