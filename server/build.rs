//! Locates the official socket.io-client bundle (npm package, pinned in the root
//! package-lock.json) so the server can embed and serve it, as Node's Socket.IO server does.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let package = manifest.join("../node_modules/socket.io-client");
    let dist = package.join("dist");
    for file in ["socket.io.js", "socket.io.min.js", "socket.io.esm.min.js"] {
        let path = dist.join(file);
        if !path.exists() {
            panic!(
                "{} is missing: run `npm ci` at the repository root (scripts/setup.sh does) \
                 to install the socket.io-client bundle the server serves",
                path.display()
            );
        }
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let manifest_json = std::fs::read_to_string(package.join("package.json"))
        .expect("socket.io-client/package.json is readable");
    let version = manifest_json
        .split("\"version\"")
        .nth(1)
        .and_then(|rest| rest.split('"').nth(1))
        .expect("socket.io-client/package.json has a version");
    println!(
        "cargo:rustc-env=SOCKET_IO_CLIENT_DIST={}",
        dist.canonicalize().expect("dist exists").display()
    );
    println!("cargo:rustc-env=SOCKET_IO_CLIENT_VERSION={version}");
    println!(
        "cargo:rerun-if-changed={}",
        package.join("package.json").display()
    );
}
