//! The module rules, held to the code the way the RBAC test holds the manifests to it.
//!
//! The workspace's crates stay apart: the simulated API (`crates/kube-sim`) depends on nothing
//! of the booth's. Within each crate, every module says in its doc comment which other top-level modules of the crate
//! it may call: a paragraph `May call: `crate::cluster`, `crate::booth`.` or
//! `May call: nothing else of the crate.` A module inside a feature folder names only modules
//! outside its folder (its siblings are its own) and may name no more than its folder's
//! `mod.rs` does. These tests read every `crate::…` path in the code (imports and inline paths,
//! tests included) and fail when a module calls one its doc does not allow, when a doc allows a
//! module that does not exist, or when the top-level modules' rules form a cycle.
//!
//! And `pub` is deliberate: an item of the library is `pub` only when another target (these
//! tests, the benchmarks, the examples, the binary) names it, everything else is `pub(crate)`, so
//! that rustc reports what nothing uses. The scan is `.ci/visibility`'s, which rewrites what this
//! test finds.
//!
//! And every task goes through the app's one tracker (`src/tasks.rs`): no `tokio::spawn`
//! elsewhere in shipped code but the places [`SPAWNED_OUTSIDE_THE_TRACKER`] names with their
//! reason, no OS thread but the ones [`THREADS`] names, and no `.abort()` anywhere: tasks stop
//! on the shutdown token.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[path = "../../.ci/visibility-src/scan.rs"]
mod visibility;

/// One source file of the crate: the top-level module it belongs to, what its doc allows and
/// what its code calls.
#[derive(Debug)]
struct Module {
    path: PathBuf,
    /// `cluster` for `src/cluster/watch.rs`, `booth` for `src/booth.rs`.
    top: String,
    /// The folder's `mod.rs` or a top-level file: its rule is the top-level module's rule.
    is_root: bool,
    allowed: Option<BTreeSet<String>>,
    calls: BTreeSet<String>,
}

/// The source folders of the workspace's crates: the booth's and the simulated API's.
fn crate_sources() -> [PathBuf; 2] {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [root.join("src"), root.join("crates/kube-sim/src")]
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The names following `crate::` in `text` (the first path segment only).
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + "crate::".len()..];
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
        rest = after;
    }
    found
}

/// The set a `May call:` paragraph of a module doc allows, `None` when there is no such paragraph.
fn may_call(doc: &str) -> Option<BTreeSet<String>> {
    let start = doc.find("May call:")?;
    let paragraph = doc[start..].split("\n\n").next().unwrap_or_default();
    Some(crate_paths(paragraph))
}

fn read_module(src: &Path, path: &Path) -> Module {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: String = text
        .lines()
        .take_while(|l| l.starts_with("//!") || l.trim().is_empty())
        .map(|l| l.trim_start_matches("//!").trim())
        .collect::<Vec<_>>()
        .join("\n");
    // Comments (doc comments included) may name modules freely; only code counts.
    let code: String = text.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n");
    let relative = path.strip_prefix(src).unwrap();
    let parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let top = parts[0].trim_end_matches(".rs").to_string();
    let is_root = parts.len() == 1 || (parts.len() == 2 && parts[1] == "mod.rs");
    let mut calls = crate_paths(&code);
    calls.remove(&top);
    Module { path: relative.to_path_buf(), top, is_root, allowed: may_call(&doc), calls }
}

/// Every module of the crate under `src` but the crate root and the binary (they name
/// everything by design). A call of an item of the crate root (`crate::SimShared`) is no call
/// of a module.
fn modules(src: &Path) -> Vec<Module> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut modules: Vec<Module> = files
        .iter()
        .filter(|p| !matches!(p.file_name().and_then(|n| n.to_str()), Some("lib.rs" | "main.rs")))
        .map(|p| read_module(src, p))
        .collect();
    let names: BTreeSet<String> = modules.iter().map(|m| m.top.clone()).collect();
    for module in &mut modules {
        module.calls.retain(|call| names.contains(call));
    }
    modules
}

/// The rule of each top-level module, from its `mod.rs` or its file.
fn top_level_rules(modules: &[Module]) -> BTreeMap<String, BTreeSet<String>> {
    modules.iter().filter(|m| m.is_root).map(|m| (m.top.clone(), m.allowed.clone().unwrap_or_default())).collect()
}

#[test]
fn every_module_says_what_it_may_call_and_calls_nothing_else() {
    let mut problems = Vec::new();
    for src in crate_sources() {
        problems.extend(module_rule_problems(&src));
    }
    assert!(problems.is_empty(), "module rules broken:\n{}", problems.join("\n"));
}

/// What breaks the module rules in the crate under `src`, one line each.
fn module_rule_problems(src: &Path) -> Vec<String> {
    let modules = modules(src);
    let rules = top_level_rules(&modules);
    let mut problems = Vec::new();
    for module in &modules {
        let Some(allowed) = &module.allowed else {
            problems.push(format!("{}: no `May call:` paragraph in its doc comment", module.path.display()));
            continue;
        };
        for unknown in allowed.iter().filter(|name| !rules.contains_key(*name)) {
            problems.push(format!("{}: allows `crate::{unknown}`, which is no module", module.path.display()));
        }
        for call in module.calls.difference(allowed) {
            problems.push(format!("{}: calls `crate::{call}`, which its doc does not allow", module.path.display()));
        }
        if !module.is_root {
            let folder = &rules[&module.top];
            for extra in allowed.difference(folder) {
                problems.push(format!(
                    "{}: allows `crate::{extra}`, which its folder's mod.rs does not",
                    module.path.display()
                ));
            }
        }
    }
    problems
}

#[test]
fn the_top_level_modules_form_no_cycle() {
    for src in crate_sources() {
        assert_no_cycle(&top_level_rules(&modules(&src)));
    }
}

/// Fails on a cycle among the modules of `rules` (each module → the modules it may call or
/// names), printing it.
fn assert_no_cycle(rules: &BTreeMap<String, BTreeSet<String>>) {
    if let Some(cycle) = find_cycle(rules) {
        panic!("a cycle: {cycle}");
    }
}

/// A cycle of `graph` as `a → b → a`, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<String> {
    // Depth-first search; a module met again while still on the path closes a cycle.
    fn visit<'a>(
        name: &'a str,
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Result<(), String> {
        if let Some(at) = path.iter().position(|n| *n == name) {
            return Err(format!("{} → {name}", path[at..].join(" → ")));
        }
        if done.contains(name) {
            return Ok(());
        }
        path.push(name);
        for next in graph.get(name).into_iter().flatten() {
            visit(next, graph, path, done)?;
        }
        path.pop();
        done.insert(name);
        Ok(())
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|name| visit(name, graph, &mut Vec::new(), &mut done).err())
}

/// The files of `src/web` import each other one way only: the handlers name `web::page` and
/// `web::error` (and each other), never the other way round. A folder's `mod.rs` names its
/// own children to declare them and assemble their routes (as `lib.rs` names every module of the
/// crate), so those names are not counted; everything else is, `mod.rs`'s items included
/// (`web::AppState` is a node that names nothing of its children).
#[test]
fn the_files_of_src_web_form_no_cycle() {
    let graph = file_graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web"));
    assert!(graph["error"].contains("page"), "the scan reads `use super::…`: {graph:?}");
    assert!(graph["public/visitor"].contains("public/mod"), "and `use super::{{…}}`: {graph:?}");
    assert!(graph["public/visitor"].contains("error"), "and `crate::web::…`: {graph:?}");
    assert_no_cycle(&graph);
}

/// Which files of the folder `root` (a module of the crate) each file names, by path without
/// `.rs` (`error`, `limits/serve`, `public/mod`): the first segment after every `super::` and
/// `crate::<root's name>::` in its code, read the way Rust resolves them. Comments do not count;
/// in the `tests` module at a file's end `super::` is the file itself.
fn file_graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let node = |dir: &[String], name: &str| -> Option<String> {
        let path = dir.iter().cloned().chain([name.to_string()]).collect::<Vec<_>>().join("/");
        if root.join(format!("{path}.rs")).is_file() {
            Some(path)
        } else if root.join(&path).join("mod.rs").is_file() {
            Some(format!("{path}/mod"))
        } else {
            None
        }
    };
    let folder_root = |dir: &[String]| dir.iter().cloned().chain(["mod".to_string()]).collect::<Vec<_>>().join("/");
    let root_name = root.file_name().unwrap().to_string_lossy().into_owned();
    let mut graph = BTreeMap::new();
    for file in &files {
        let relative = file.strip_prefix(root).unwrap().with_extension("");
        let name = relative.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>().join("/");
        let text = std::fs::read_to_string(file).unwrap();
        let code: String =
            text.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n");
        let (main, tests) = code.split_once("#[cfg(test)]\nmod tests").unwrap_or((&code, ""));
        // The module's own path: `public` for `public/mod.rs`, `public/visitor` for `public/visitor.rs`.
        let mut module: Vec<String> = name.split('/').map(String::from).collect();
        if module.last().is_some_and(|last| last == "mod") {
            module.pop();
        }
        let mut named = BTreeSet::new();
        for (part, extra) in [(main, 0), (tests, 1)] {
            for (supers, first) in relative_paths(part, "super::") {
                // `super` of a module is its parent; from its `tests` module, one more `super`.
                let Some(up) = (supers + 1).checked_sub(extra) else { continue };
                let Some(depth) = module.len().checked_sub(up) else { continue };
                let dir = &module[..depth];
                named.insert(node(dir, &first).unwrap_or_else(|| folder_root(dir)));
            }
            for (_, first) in relative_paths(part, &format!("crate::{root_name}::")) {
                named.insert(node(&[], &first).unwrap_or_else(|| folder_root(&[])));
            }
        }
        named.remove(&name);
        if name == "mod" || name.ends_with("/mod") {
            // A folder's mod.rs declares and assembles its children: what lies in its folder.
            let folder: String = module.iter().map(|m| format!("{m}/")).collect();
            named.retain(|n| !n.starts_with(&folder));
        }
        graph.insert(name, named);
    }
    graph
}
/// Every `prefix` path in `code` (not the tail of a longer path): how many more `super::` follow
/// the prefix, and the first segment after them, or each item's first segment of a `{…}` group.
fn relative_paths(code: &str, prefix: &str) -> Vec<(usize, String)> {
    let ident = |text: &str| -> String { text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let mut found = Vec::new();
    for (at, _) in code.match_indices(prefix) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut after = &code[at + prefix.len()..];
        let mut supers = 0;
        while let Some(next) = after.strip_prefix("super::") {
            supers += 1;
            after = next;
        }
        let mut firsts = Vec::new();
        if let Some(group) = after.strip_prefix('{') {
            let (mut depth, mut item_start) = (0, true);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if c.is_whitespace() => {}
                    _ if item_start => {
                        firsts.push(ident(&group[i..]));
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            firsts.push(ident(after));
        }
        found.extend(firsts.into_iter().filter(|f| !f.is_empty()).map(|f| (supers, f)));
    }
    found
}

/// The file graph read from a small tree: paths, groups, the tests module and mod.rs as they are.
#[test]
fn the_file_graph_is_read_as_rust_resolves_paths() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("web");
    std::fs::create_dir_all(root.join("public")).unwrap();
    let files = [
        ("mod.rs", "pub mod error;\npub mod public;\nuse crate::web::error::E;\npub struct AppState;\n"),
        ("error.rs", "use super::page::{Page, message};\n// use super::public::not_code;\n"),
        (
            "page.rs",
            "pub fn message() {}\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use super::super::error::E;\n}\n",
        ),
        (
            "public/mod.rs",
            "mod visitor;\nuse super::{AppState, error::E};\nfn f() { visitor::g(); crate::web::public::visitor::g(); }\n",
        ),
        ("public/visitor.rs", "use super::{self, Inner};\nuse super::super::page::Page;\nuse crate::web::public::x;\n"),
    ];
    for (path, text) in files {
        std::fs::write(root.join(path), text).unwrap();
    }
    let set = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<BTreeSet<_>>();
    let graph = file_graph(&root);
    assert_eq!(graph["mod"], set(&[]), "mod.rs names its children without counting");
    assert_eq!(graph["error"], set(&["page"]), "comments do not count");
    assert_eq!(graph["page"], set(&["error"]), "`super::super` from the tests module");
    assert_eq!(graph["public/mod"], set(&["error", "mod"]));
    assert_eq!(graph["public/visitor"], set(&["page", "public/mod"]));
    assert_eq!(find_cycle(&graph).as_deref(), Some("error → page → error"));
    assert_eq!(find_cycle(&BTreeMap::from([("a".into(), set(&["b"])), ("b".into(), set(&[]))])), None);
}

/// The simulated API is a crate other projects can use: nothing of the booth in its
/// dependencies (normal, dev or build), and no path into the booth's crate in its code.
#[test]
fn the_simulated_api_knows_nothing_of_the_booth() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/kube-sim");
    let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml")).unwrap().parse().unwrap();
    for section in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let deps = manifest.get(section).and_then(|d| d.as_table()).cloned().unwrap_or_default();
        assert!(!deps.contains_key("conferenceli"), "kube-sim's {section} name the booth's crate");
        for (name, spec) in &deps {
            let path = spec.get("path").and_then(|p| p.as_str()).unwrap_or_default();
            assert!(path.is_empty() || path.starts_with("crates/") && path != ".", "{name}: a path dependency {path}");
        }
    }
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    for file in files.iter().filter(|f| !f.starts_with(root.join("target"))) {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(!text.contains("conferenceli::"), "{} names the booth's crate", file.display());
    }
}

#[test]
fn the_rules_are_read_as_written() {
    let doc =
        "Owns the chaos button.\n\nMay call: `crate::cluster` and\n`crate::booth`.\n\nMore prose about `crate::web`.";
    assert_eq!(may_call(doc), Some(["booth".to_string(), "cluster".to_string()].into()));
    assert_eq!(may_call("May call: nothing else of the crate."), Some(BTreeSet::new()));
    assert_eq!(may_call("No rule here."), None);
    let code = "use crate::cluster::{A, B};\nlet x = crate::booth::f(); conferenceli::crate_x; my_crate::web::f();";
    assert_eq!(crate_paths(code), ["booth".to_string(), "cluster".to_string()].into());
}

#[test]
fn pub_is_deliberate_everything_else_is_pub_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let unneeded = visibility::unneeded(root, &[PathBuf::from("src")], &[]);
    let lines: Vec<String> = unneeded
        .iter()
        .map(|item| format!("{}:{}: pub {} {}", item.file.display(), item.line, item.kind, item.names[0]))
        .collect();
    assert!(
        lines.is_empty(),
        "pub items that no test, benchmark, example or the binary names (make them pub(crate): \
         .ci/visibility PATH, or use them from outside):\n{}",
        lines.join("\n")
    );
}

/// The scan on a small crate of its own: what it finds, what it rewrites, what it leaves.
#[test]
fn the_visibility_scan_finds_and_rewrites_only_unneeded_pub_items() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("src/feature")).unwrap();
    std::fs::create_dir_all(root.join("tests")).unwrap();
    std::fs::write(root.join("src/lib.rs"), "pub mod feature;\npub fn unused_at_root() {}\n").unwrap();
    let feature = r##"//! pub fn in_a_doc_comment() {}
pub use inner::Exported as Renamed;
pub mod inner;
pub(crate) fn already_crate() {}
pub fn used(x: &Settings<'_>) -> Reply { let _ = ('"', '\'', "pub fn in_a_string() {}", r#"pub fn raw() {}"#); todo() }
pub fn unused() {}
pub async fn unused_async() {}
pub const fn unused_const_fn() -> u8 { 0 }
pub const UNUSED_CONST: u8 = 1;
pub struct Reply(pub Inner);
pub struct Inner;
pub struct Settings<'a> {
    pub named_outside: &'a str,
    pub not_named_outside: u8,
}
pub struct Updated { pub a: u8, pub b: u8 }
pub struct Unused { pub field: u8 }
impl Unused {
    pub fn method(&self) {}
}
"##;
    std::fs::write(root.join("src/feature/mod.rs"), feature).unwrap();
    std::fs::write(root.join("src/feature/inner.rs"), "pub struct Exported;\npub struct Hidden;\n").unwrap();
    let test = "// Unused unused_async\nuse x::feature::{used, Renamed};\nfn t() { let u = Updated { a: 1, ..base() }; \
                let _ = s.named_outside; let _ = \"Hidden\"; }\n";
    std::fs::write(root.join("tests/t.rs"), test).unwrap();

    let found = |paths: &[&str], skip: &[&str]| -> Vec<String> {
        let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
        let skip: Vec<PathBuf> = skip.iter().map(PathBuf::from).collect();
        visibility::unneeded(root, &paths, &skip).iter().map(|i| format!("{} {}", i.kind, i.names[0])).collect()
    };
    // By file (inner.rs, mod.rs, lib.rs), then in source order.
    let expected = [
        "struct Hidden",
        "mod inner",
        "fn unused",
        "fn unused_async",
        "fn unused_const_fn",
        "const UNUSED_CONST",
        "field not_named_outside",
        "struct Unused",
        "field field",
        "fn method",
        "fn unused_at_root",
    ];
    assert_eq!(found(&["src"], &[]), expected);
    // `Reply` and `Settings` stay: `used` returns and takes them; `Inner` is in `Reply`'s tuple.
    assert_eq!(found(&["src/feature/inner.rs"], &[]), ["struct Hidden"]);
    assert_eq!(found(&["src"], &["src/feature"]), ["fn unused_at_root"]);

    let items = visibility::unneeded(root, &[PathBuf::from("src")], &[]);
    assert_eq!(visibility::make_crate_private(root, &items).unwrap(), expected.len());
    let rewritten = std::fs::read_to_string(root.join("src/feature/mod.rs")).unwrap();
    assert!(rewritten.contains("pub(crate) fn unused() {}\npub(crate) async fn unused_async"), "{rewritten}");
    assert!(rewritten.contains("pub(crate) struct Unused { pub(crate) field: u8 }"), "{rewritten}");
    assert!(rewritten.contains("pub fn used(x: &Settings<'_>) -> Reply"), "{rewritten}");
    assert!(rewritten.contains("pub fn in_a_string"), "strings are left alone: {rewritten}");
    assert!(rewritten.starts_with("//! pub fn in_a_doc_comment"), "comments are left alone: {rewritten}");
    assert_eq!(rewritten.matches("pub(crate)").count(), 10, "{rewritten}");
    assert!(found(&["src"], &[]).is_empty(), "a second run finds nothing");
}

/// Where a task may be spawned other than through the app's one tracker (`src/tasks.rs`), and
/// why; the tracker's doc says the same.
const SPAWNED_OUTSIDE_THE_TRACKER: [(&str, &str); 2] = [
    ("web/limits/serve.rs", "per-connection tasks, each holding a permit the server waits for before it returns"),
    ("demo.rs", "the simulated cluster's containers, started and stopped by the simulated API with its own token"),
];

/// Where an OS thread may be started, and why.
const THREADS: [(&str, &str); 1] =
    [("automations/fog.rs", "the relay's watchdog thread, joined by `Fog::shutdown`, which the fog's task runs")];

/// Every task the booth spawns goes through `tasks::Tasks`, so that shutdown waits for all of
/// them, and nothing is aborted: each task stops on the shutdown token. Unit tests (a file's
/// `#[cfg(test)] mod tests`) may spawn as they like.
#[test]
fn every_task_goes_through_the_one_tracker_and_none_is_aborted() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut problems = Vec::new();
    for path in &files {
        let relative = path.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        problems.extend(spawn_problems(&relative, &std::fs::read_to_string(path).unwrap()));
    }
    assert!(problems.is_empty(), "spawn through `crate::tasks::Tasks` and stop on its token:\n{}", problems.join("\n"));
}

/// What `relative`'s shipped code (comments and unit tests left out) does against the rule.
fn spawn_problems(relative: &str, text: &str) -> Vec<String> {
    let shipped = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
    let allowed = relative == "tasks.rs" || SPAWNED_OUTSIDE_THE_TRACKER.iter().any(|(file, _)| *file == relative);
    let mut problems = Vec::new();
    for (number, line) in shipped.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        let spawns = ["tokio::spawn", "task::spawn(", "spawn_local", "JoinSet"].iter().any(|s| code.contains(s));
        if spawns && !allowed {
            problems.push(format!("src/{relative}:{}: spawns outside the tracker: {}", number + 1, line.trim()));
        }
        let threads = ["thread::spawn", "thread::Builder"].iter().any(|s| code.contains(s));
        if threads && !THREADS.iter().any(|(file, _)| *file == relative) {
            problems.push(format!("src/{relative}:{}: starts a thread: {}", number + 1, line.trim()));
        }
        if code.contains(".abort()") || code.contains("abort_handle") {
            problems.push(format!("src/{relative}:{}: aborts a task: {}", number + 1, line.trim()));
        }
        if code.contains("TaskTracker") && relative != "tasks.rs" {
            problems.push(format!("src/{relative}:{}: a second tracker: {}", number + 1, line.trim()));
        }
    }
    problems
}

/// The scan finds spawns, aborts and trackers in shipped code, and leaves comments, unit tests
/// and the allowed files alone.
#[test]
fn the_spawn_scan_finds_what_it_should_and_nothing_else() {
    let text = "// tokio::spawn(in_a_comment)\nfn f() {\n    tokio::spawn(work());\n    handle.abort();\n    \
                let t = tokio_util::task::TaskTracker::new();\n}\n#[cfg(test)]\nmod tests {\n    fn t() { tokio::spawn(x()); }\n}\n";
    let problems = spawn_problems("feature.rs", text);
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("src/feature.rs:3: spawns outside the tracker"), "{problems:?}");
    assert!(problems[1].starts_with("src/feature.rs:4: aborts a task"), "{problems:?}");
    assert!(problems[2].starts_with("src/feature.rs:5: a second tracker"), "{problems:?}");
    assert_eq!(spawn_problems("web/limits/serve.rs", "fn f() { tokio::spawn(c()); }\n"), Vec::<String>::new());
    assert_eq!(spawn_problems("demo.rs", "fn f() { h.abort(); }\n").len(), 1, "aborts are never allowed");
    assert_eq!(spawn_problems("leds/driver.rs", "fn f() { std::thread::spawn(g); }\n").len(), 1);
    assert!(spawn_problems("automations/fog.rs", "fn f() { std::thread::Builder::new(); }\n").is_empty());
}
