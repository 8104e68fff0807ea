//! Leptos's settings for the page, from our configuration and the built site.

use std::net::SocketAddr;

use leptos::config::LeptosOptions;

use super::StartupError;
use crate::config::Config;
use crate::http::site_assets::SiteAssets;

/// Leptos settings for rendering and hydration, from our own configuration, and the
/// site's files: when the build named them by their hashes, the page names them so too.
pub(super) fn leptos_options(
    config: &Config,
    site_addr: SocketAddr,
) -> Result<(LeptosOptions, SiteAssets), StartupError> {
    let mut options = leptos::config::get_configuration(None)?.leptos_options;
    if options.output_name.is_empty() {
        options.output_name = "chat".into();
    }
    options.site_root = config.site_root.to_string_lossy().into();
    options.site_addr = site_addr;
    let assets = SiteAssets::load(
        &config.site_root,
        &options.site_pkg_dir,
        &options.output_name,
    );
    // Leptos looks for the hash file beside the executable; an absolute path replaces that.
    options.hash_files = assets.hash_file().is_some();
    if let Some(path) = assets.hash_file() {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        options.hash_file = absolute.to_string_lossy().into();
    }
    Ok((options, assets))
}
