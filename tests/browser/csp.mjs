// csp.mjs: keeps the Content-Security-Policy of web/verify.html naming the SHA-256 of the page's
// own inline script and style, the only code the policy lets the browser run. After editing the
// page run `node tests/browser/csp.mjs` to rewrite the two hashes; `--check` only reports whether
// they are current (exit 1 when not), as the browser test and tests/verifier_page.rs require.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export const pagePath = fileURLToPath(new URL('../../web/verify.html', import.meta.url));

/** The page with its CSP hashes recomputed, and whether they changed. */
export function withCurrentHashes(html) {
  const body = (tag) => {
    const open = html.indexOf(`<${tag}>`), close = html.indexOf(`</${tag}>`);
    if (open < 0 || close < 0 || html.indexOf(`<${tag}>`, open + 1) >= 0) throw new Error(`web/verify.html must hold exactly one <${tag}>`);
    return html.slice(open + tag.length + 2, close);
  };
  const hash = (text) => `'sha256-${crypto.createHash('sha256').update(text, 'utf8').digest('base64')}'`;
  const updated = html
    .replace(/script-src '[^']*'/, `script-src ${hash(body('script'))}`)
    .replace(/style-src '[^']*'/, `style-src ${hash(body('style'))}`);
  return { html: updated, changed: updated !== html };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { html, changed } = withCurrentHashes(fs.readFileSync(pagePath, 'utf8'));
  if (process.argv.includes('--check')) {
    if (changed) {
      console.error('web/verify.html: the CSP hashes are not those of its script and style; run `node tests/browser/csp.mjs`');
      process.exit(1);
    }
  } else if (changed) {
    fs.writeFileSync(pagePath, html);
    console.log('web/verify.html: CSP hashes updated');
  } else {
    console.log('web/verify.html: CSP hashes are current');
  }
}
