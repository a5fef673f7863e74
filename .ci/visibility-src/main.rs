//! `.ci/visibility [--check] [PATH…]`: rewrites `pub` to `pub(crate)` on every item of the
//! library under the PATHs (default `src`) that no other target (tests, benches, examples, the
//! binary) names; `--check` only lists them and fails if there are any. See `scan.rs` for how
//! "names" is decided. The script runs it from the repository root, so PATHs are relative to it.

mod scan;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = &std::env::current_dir().expect("a current directory");
    let mut check = false;
    let mut paths = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("usage: .ci/visibility [--check] [PATH…]   (PATHs under src/, default src)");
                return ExitCode::SUCCESS;
            }
            path => {
                let path = PathBuf::from(path.trim_end_matches('/'));
                if !root.join(&path).exists() {
                    eprintln!("visibility: {} does not exist", path.display());
                    return ExitCode::from(2);
                }
                paths.push(path);
            }
        }
    }
    if paths.is_empty() {
        paths.push(PathBuf::from("src"));
    }
    let items = scan::unneeded(root, &paths, &[]);
    for item in &items {
        println!(
            "{}:{}: pub {} {}",
            item.file.display(),
            item.line,
            item.kind,
            item.names.iter().filter(|n| !n.ends_with("{..}")).cloned().collect::<Vec<_>>().join(", ")
        );
    }
    if check {
        return if items.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    match scan::make_crate_private(root, &items) {
        Ok(count) => {
            eprintln!("visibility: {count} items made pub(crate); now run cargo check --all-targets and cargo doc --no-deps");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("visibility: cannot rewrite: {error}");
            ExitCode::FAILURE
        }
    }
}
