//! The test vectors of docs/FORMAT.md, recomputed independently by docs/vectors.py (Python
//! standard library only), reproduced here through the crate.

use trialnotary::chain::header::{BlockHeader, HEADER_VERSION};
use trialnotary::hash::{BlockHash, NodeHash};
use trialnotary::record::{DatasetEntry, Record, Salt, SubmissionEntry, write_values};
use trialnotary::salt::{Salter, Secret};
use trialnotary::tree::root_of;

fn n(hex: &str) -> NodeHash {
    NodeHash::from_hex(hex).unwrap()
}

#[test]
fn format_md_vectors() {
    let values = [Some("CDISCPILOT01"), Some("01-701-1015"), None, Some("4.5")];
    let mut values_json = Vec::new();
    write_values(&mut values_json, values);
    let secret = Secret::from_hex(&"00".repeat(32)).unwrap();
    let salt = Salter::new(&secret, "dm").salt(0, &values_json);
    assert_eq!(salt.to_hex(), "117fe37d73e99e7169b75bf5aba74550");

    let r0 = Record {
        salt,
        values: values.iter().map(|v| v.map(String::from)).collect(),
    };
    assert_eq!(
        String::from_utf8(r0.to_bytes()).unwrap(),
        r#"{"salt":"117fe37d73e99e7169b75bf5aba74550","values":["CDISCPILOT01","01-701-1015",null,"4.5"]}"#
    );
    assert_eq!(
        r0.leaf_hash().to_hex(),
        "f4315120838c065f60ac90d3e1ef7dcee0b0418616f61fc78b6c829e18fa3d21"
    );
    let r1 = Record {
        salt: Salt::from_hex("000102030405060708090a0b0c0d0e0f").unwrap(),
        values: vec![
            Some("CDISCPILOT01".into()),
            Some("01-701-1016".into()),
            Some("F".into()),
            None,
        ],
    };
    assert_eq!(
        r1.leaf_hash().to_hex(),
        "3964bc4b140ef9b82173a5ec8c9a0a981deb20fec95619fb14f0094479196e11"
    );
    let droot = root_of(&[r0.leaf_hash().into_node(), r1.leaf_hash().into_node()]);
    assert_eq!(
        droot,
        n("ab1807f39f6817a224127636e01c37851c0850b7ea270c52f2d8cef3a83780da")
    );

    let entry = DatasetEntry {
        name: "dm".into(),
        columns: ["STUDYID", "USUBJID", "SEX", "LBORRES"]
            .map(String::from)
            .to_vec(),
        rows: 2,
        root: droot,
    };
    let d = entry.leaf_hash().unwrap();
    assert_eq!(
        d.to_hex(),
        "d71d417d464bfc3f625acafceb12f26a458e2e129991764a9fb0ef83549468c3"
    );
    let sub = SubmissionEntry {
        id: "CDISCPILOT01".into(),
        root: d.into_node(),
        records: 2,
        datasets: 1,
    };
    let s = sub.leaf_hash().unwrap();
    assert_eq!(
        s.to_hex(),
        "a6f6b2d9bdbdba2bca7bd1a70bf20ced5db14ac06e88b1c771742ee5442a44c3"
    );

    let header = BlockHeader {
        version: HEADER_VERSION,
        height: 0,
        prev: BlockHash::default(),
        anchor_root: s.into_node(),
        time: 1_790_000_000,
        difficulty: 0,
        nonce: 0,
    };
    assert_eq!(
        hex::encode(header.to_bytes()),
        "0000000100000000000000000000000000000000000000000000000000000000000000000000000000000000\
         a6f6b2d9bdbdba2bca7bd1a70bf20ced5db14ac06e88b1c771742ee5442a44c3000000006ab13b80000000000000000000000000"
    );
    assert_eq!(
        header.hash().to_hex(),
        "107febc597e0c5723bd81ef8b0396d869d2f2f4c4a1ddb82222f6e0f7a8c6272"
    );
}
