//! The site's files and how long a browser may keep them.
//!
//! `cargo leptos build` puts the content's hash in the names of the WASM, JS and CSS
//! (`chat.<hash>.wasm`, see `hash-files` in Cargo.toml) and lists the hashes in the site's
//! `hash.txt`. A file whose name carries its hash never changes under that name, so it is
//! served `immutable` for a year: a returning visitor loads the page with no request for
//! them at all, and a new build is fetched at once because its names are new. Everything
//! else in the site (the icon, and all files of a build without hashes) is `no-cache`: kept,
//! but revalidated (`304` from `Last-Modified`) before each use.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// The name of the hash file in the site directory (Cargo.toml's `hash-file-name`).
pub const HASH_FILE: &str = "hash.txt";

/// For files named by their content: a year, never revalidated.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For the rest: kept, revalidated before each use.
const REVALIDATE: &str = "no-cache";

/// The paths of the site's hashed files (`/pkg/chat.<hash>.js`, …), read from `hash.txt`.
#[derive(Debug, Clone, Default)]
pub struct SiteAssets {
    hashed: HashSet<String>,
    hash_file: Option<PathBuf>,
}

impl SiteAssets {
    /// Reads `site_root/hash.txt` if the build wrote one (names `pkg_dir/output_name.<hash>.<ext>`
    /// for the `js`, `wasm` and `css` lines); none: a build without hashed names.
    pub fn load(site_root: &Path, pkg_dir: &str, output_name: &str) -> Self {
        let path = site_root.join(HASH_FILE);
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Self::default();
        };
        let hashed = parse_hashes(&text)
            .map(|(ext, hash)| format!("/{pkg_dir}/{output_name}.{hash}.{ext}"))
            .collect();
        Self {
            hashed,
            hash_file: Some(path),
        }
    }

    /// The hash file, when the build wrote one: Leptos names the scripts and the stylesheet
    /// in the page after it.
    pub fn hash_file(&self) -> Option<&Path> {
        self.hash_file.as_deref()
    }

    /// Whether `path` (a request's path) names a file by its content.
    pub fn is_hashed(&self, path: &str) -> bool {
        self.hashed.contains(path)
    }
}

/// The `(extension, hash)` pairs of a hash file's `js`, `wasm` and `css` lines.
fn parse_hashes(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|line| {
        let (kind, hash) = line.split_once(':')?;
        let kind = kind.trim();
        let hash = hash.trim();
        let well_formed = !hash.is_empty()
            && hash
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        (matches!(kind, "js" | "wasm" | "css") && well_formed).then_some((kind, hash))
    })
}

/// Sets `Cache-Control` on a static file's response: `immutable` for a hashed name,
/// `no-cache` otherwise (only on success or `304`; errors are not cached).
pub async fn cache_policy(
    State(assets): State<Arc<SiteAssets>>,
    request: Request,
    next: Next,
) -> Response {
    let hashed = assets.is_hashed(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED {
        let policy = if hashed { IMMUTABLE } else { REVALIDATE };
        response
            .headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static(policy));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_file_names_the_hashed_files_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(HASH_FILE),
            "js: N5wEKrPN6UDF7pQU9k8qGw\nwasm: LRohow4HFzqADjJTNohbAg\ncss: Y_GOhMaQ6BJ7vNvzNZTi6g\nmanifest: x\njs: ../../etc\n",
        )
        .unwrap();
        let assets = SiteAssets::load(dir.path(), "pkg", "chat");
        assert!(assets.is_hashed("/pkg/chat.N5wEKrPN6UDF7pQU9k8qGw.js"));
        assert!(assets.is_hashed("/pkg/chat.LRohow4HFzqADjJTNohbAg.wasm"));
        assert!(assets.is_hashed("/pkg/chat.Y_GOhMaQ6BJ7vNvzNZTi6g.css"));
        assert!(!assets.is_hashed("/pkg/chat.js"));
        assert!(!assets.is_hashed("/favicon.svg"));
        assert_eq!(assets.hashed.len(), 3, "{:?}", assets.hashed);
        assert_eq!(
            assets.hash_file(),
            Some(dir.path().join(HASH_FILE).as_path())
        );
    }

    #[test]
    fn without_a_hash_file_nothing_is_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let assets = SiteAssets::load(dir.path(), "pkg", "chat");
        assert!(!assets.is_hashed("/pkg/chat.js"));
        assert_eq!(assets.hash_file(), None);
    }
}
