//! The browser verifier, `web/verify.html`, as the binary embeds and writes it: `verifier-page`
//! writes it byte for byte and prints its SHA-256; the README prints the same SHA-256 and size, so
//! neither can go stale; the page stays within its size budget, lets the browser run only its own
//! script and style (its Content-Security-Policy names their SHA-256) and refers to nothing outside
//! itself. That its verdicts are `trialnotary verify`'s is shown in a browser by tests/browser/.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The size budget in bytes: "well under 100 KB", readable without a build step.
const BUDGET: usize = 90_000;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn page() -> String {
    std::fs::read_to_string(root().join("web/verify.html")).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The text between `open` and `close`, which must occur once each.
fn only<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    assert_eq!(text.matches(open).count(), 1, "one {open} expected");
    let start = text.find(open).unwrap() + open.len();
    &text[start..start + text[start..].find(close).unwrap()]
}

#[test]
fn verifier_page_writes_the_page_and_prints_its_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("verify.html");
    let run = Command::new(env!("CARGO_BIN_EXE_trialnotary"))
        .args(["verifier-page", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let written = std::fs::read(&out).unwrap();
    assert_eq!(
        written,
        page().as_bytes(),
        "the written page is not web/verify.html"
    );
    assert!(
        stdout.contains(&format!("SHA-256 {}", sha256_hex(&written))),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("({} bytes)", written.len())),
        "{stdout}"
    );
    // Written again over the first copy, as a sponsor refreshing it would.
    let again = Command::new(env!("CARGO_BIN_EXE_trialnotary"))
        .args(["verifier-page", "-o"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(again.success());
    assert_eq!(std::fs::read(&out).unwrap(), written);
}

#[test]
fn readme_prints_the_sha256_and_size_of_this_page() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let page = page();
    let (hash, size) = (sha256_hex(page.as_bytes()), page.len());
    let line = readme
        .lines()
        .find(|l| l.contains("SHA-256 of `web/verify.html`"))
        .expect("the README prints the page's SHA-256 on a line naming `web/verify.html`");
    let printed: String = line
        .split(|c: char| !c.is_ascii_hexdigit())
        .find(|w| w.len() == 64)
        .expect("a 64-digit SHA-256 on that line")
        .into();
    let grouped = size
        .to_string()
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(",");
    assert!(
        printed == hash && line.contains(&format!("{grouped} bytes")),
        "the README must print the page's SHA-256 and size, now {hash} and {grouped} bytes: {line}"
    );
}

#[test]
fn the_page_is_small_self_contained_and_runs_only_its_own_code() {
    let page = page();
    assert!(
        page.len() <= BUDGET,
        "web/verify.html is {} bytes, over its budget of {BUDGET}",
        page.len()
    );
    let script = only(&page, "<script>", "</script>");
    let style = only(&page, "<style>", "</style>");
    let csp_hash = |text: &str| {
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    };
    let csp = format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         script-src 'sha256-{}'; style-src 'sha256-{}'; img-src data:; base-uri 'none'; \
         form-action 'none'\">",
        csp_hash(script),
        csp_hash(style)
    );
    assert!(
        page.contains(&csp),
        "the page's CSP must name its script's and style's SHA-256 (run `node tests/browser/csp.mjs`): {csp}"
    );
    // The policy comes before anything it governs.
    assert!(page.find(&csp).unwrap() < page.find("<style>").unwrap());
    // Nothing from elsewhere, and no way to run code the policy did not name.
    for banned in [
        "http://",
        "https://",
        "src=",
        "@import",
        "url(",
        "fetch(",
        "XMLHttpRequest",
        "WebSocket",
        "EventSource",
        "sendBeacon",
        "import(",
        "eval(",
        "new Function",
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "unsafe-",
    ] {
        assert!(!page.contains(banned), "the page contains {banned:?}");
    }
    assert_eq!(page.matches("<link").count(), 1);
    assert!(page.contains("<link rel=\"icon\" href=\"data:,\">"));
    // Every file opens by saying what it owns.
    assert!(page.starts_with("<!DOCTYPE html>\n<!--\n  verify.html: "));
}
