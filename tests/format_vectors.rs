//! The test vectors of docs/FORMAT.md, recomputed independently by docs/vectors.py (Python
//! standard library only), reproduced here through the crate.

use sha2::Digest;
use trialnotary::core::hash::root;
use trialnotary::core::hash::{BlockHash, FileHash, NodeHash};
use trialnotary::core::header::{BlockHeader, HEADER_VERSION};
use trialnotary::core::record::{
    DatasetEntry, DocumentEntry, Record, Salt, SubmissionEntry, values_digest, write_values,
};
use trialnotary::hashing::salt::{Salter, Secret};

fn n(hex: &str) -> NodeHash {
    NodeHash::from_hex(hex).unwrap()
}

#[test]
fn format_md_vectors() {
    let values = [Some("CDISCPILOT01"), Some("01-701-1015"), None, Some("4.5")];
    let mut values_json = Vec::new();
    write_values(&mut values_json, values);
    let secret = Secret::from_hex(&"00".repeat(32)).unwrap();
    let digest = values_digest(&values_json);
    assert_eq!(
        hex::encode(digest),
        "22478e042d8b309287bf7245538a09b1d66d7672174bf6ca91dcca16d8202c12"
    );
    let salt = Salter::new(&secret, "dm").salt(0, &digest);
    assert_eq!(salt.to_hex(), "8724b350dab4931586f1205c2de4a605");

    let r0 = Record {
        salt,
        values: values.iter().map(|v| v.map(String::from)).collect(),
    };
    assert_eq!(
        String::from_utf8(r0.values_json()).unwrap(),
        r#"["CDISCPILOT01","01-701-1015",null,"4.5"]"#
    );
    assert_eq!(
        r0.leaf_hash().to_hex(),
        "2ca4420ac10b708c7a2ba897f3b3ca451f7d11a7c4d5849e860b2834bc9fa392"
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
        "5743bf20e40644ec838524b9c707a35bd9de482c9b14d48de9ba1f19db5bb87c"
    );
    let droot = root(&[r0.leaf_hash().into_node(), r1.leaf_hash().into_node()]);
    assert_eq!(
        droot,
        n("c3a665a10071877aa5bd184d6868863d153535ff131ba04bf70b44996d2512fd")
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
        "ba26989af041e2cfb933bef35f9b8b0df5eebafb651bed53265423001d0d01ea"
    );
    let sub = SubmissionEntry {
        id: "CDISCPILOT01".into(),
        root: d.into_node(),
        records: 2,
        datasets: 1,
        documents: 0,
    };
    let s = sub.leaf_hash().unwrap();
    assert_eq!(
        s.to_hex(),
        "70bf9ea6d15b066ea24f77cdd520d2cd5fab524464982e3b18d449451a6ed9a3"
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
         70bf9ea6d15b066ea24f77cdd520d2cd5fab524464982e3b18d449451a6ed9a3000000006ab13b80000000000000000000000000"
    );
    assert_eq!(
        header.hash().to_hex(),
        "8605ff5a9ecd14375c583bd16dd937a20bae3f3c02dba7589f2391dc4c1f6180"
    );

    // Format version 3: a document beside the dataset, in one sorted submission tree.
    let doc = DocumentEntry {
        path: "define.xml".into(),
        bytes: 7,
        sha256: FileHash::from_bytes(sha2::Sha256::digest(b"<ODM/>\n").into()),
    };
    assert_eq!(
        doc.leaf_hash().unwrap().to_hex(),
        "df522b917137ad8095cb67cddadb6b3be966282276c66f09d09cc54277cb97c8"
    );
    let sub_root = root(&[doc.leaf_hash().unwrap().into_node(), d.into_node()]);
    assert_eq!(
        sub_root,
        n("906b00136f9e1f71d6ee235a0038c0ab846c7d41f192e5732f420d2173eaba8b")
    );
    let sub = SubmissionEntry {
        root: sub_root,
        documents: 1,
        ..sub
    };
    assert_eq!(
        sub.leaf_hash().unwrap().to_hex(),
        "969c7ad46702c382c4c883e4e007a828661fd3369ad09cb7c354920813f67d3b"
    );
}
