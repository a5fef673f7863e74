//! What ships: the Dockerfile builds what the crate builds.

use std::path::Path;

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The Dockerfile's instructions, with line continuations joined.
fn dockerfile_instructions() -> Vec<String> {
    let text = repo_file("Dockerfile");
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#') && !l.is_empty()) {
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

#[test]
fn the_dockerfile_builds_the_crates_binary_the_way_ci_does() {
    let manifest = manifest();
    let instructions = dockerfile_instructions();
    let build = instructions.iter().find(|i| i.contains("cargo build")).expect("a cargo build step");
    for flag in ["--release", "--locked", &format!("--bin {}", manifest.name)] {
        assert!(build.contains(flag), "the build step lacks {flag}: {build}");
    }
    assert!(build.contains(&format!("target/release/{}", manifest.name)), "copies the built binary: {build}");
    let entrypoint = instructions.iter().find(|i| i.starts_with("ENTRYPOINT")).expect("an entrypoint");
    assert!(entrypoint.contains(&format!("/usr/local/bin/{}", manifest.name)), "{entrypoint}");
    assert!(instructions.iter().any(|i| i.starts_with("USER 65532")), "non-root by default");

    // The toolchain is at least the crate's rust-version.
    let rust = instructions.iter().find_map(|i| i.strip_prefix("ARG RUST_VERSION=")).expect("ARG RUST_VERSION");
    let version = |v: &str| v.split('.').map(|n| n.parse::<u32>().unwrap()).collect::<Vec<_>>();
    assert!(
        version(rust) >= version(&manifest.rust_version),
        "Dockerfile Rust {rust} < rust-version {}",
        manifest.rust_version
    );

    // Every top-level directory the build reads is copied into the image.
    for dir in ["src", "templates", "benches", "tests"] {
        assert!(instructions.iter().any(|i| i.starts_with(&format!("COPY {dir} "))), "COPY {dir} missing");
    }
    for copied in ["Cargo.toml", "Cargo.lock"] {
        assert!(instructions.iter().any(|i| i.starts_with("COPY ") && i.contains(copied)), "{copied} not copied");
    }
}

/// The package name and rust-version from Cargo.toml.
struct Manifest {
    name: String,
    rust_version: String,
}

fn manifest() -> Manifest {
    let cargo: toml::Table = repo_file("Cargo.toml").parse().expect("Cargo.toml parses");
    let package = cargo["package"].as_table().expect("[package]");
    Manifest {
        name: package["name"].as_str().expect("name").to_string(),
        rust_version: package["rust-version"].as_str().expect("rust-version").to_string(),
    }
}
