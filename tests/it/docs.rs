//! The documentation held to the code and to itself: every relative link of the Markdown pages
//! leads somewhere (a file, and a `#fragment` to one of its headings), every variable the binary
//! reads has its row in docs/configuration.md with its flag, and README.md fits on a screen.
//! The measured figures are held to their one place by the report's own tests
//! (`benches/report/render.rs`).

use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The pages people read: the README, ARCHITECTURE.md, the simulator's README and docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages =
        vec![root().join("README.md"), root().join("ARCHITECTURE.md"), root().join("crates/kube-sim/README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The page without its fenced code blocks and inline code, where brackets are not links.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            out.push('\n');
            continue;
        }
        if !fenced {
            out.push_str(line);
        }
        out.push('\n');
    }
    Regex::new("`[^`\n]*`").unwrap().replace_all(&out, "").into_owned()
}

/// The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as
/// hyphens, a repeated heading numbered.
fn anchors(text: &str) -> BTreeSet<String> {
    let link = Regex::new(r"\[([^\]]*)\]\([^)]*\)").unwrap();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        let Some(heading) = line.strip_prefix('#').filter(|_| !fenced) else { continue };
        let heading = link.replace_all(heading.trim_start_matches('#').trim(), "$1");
        let slug: String = heading
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let count = seen.entry(slug.clone()).or_default();
        out.insert(if *count == 0 { slug.clone() } else { format!("{slug}-{count}") });
        *count += 1;
    }
    out
}

/// Every link target of a page: Markdown links and images, and HTML `src`/`href` attributes.
fn link_targets(text: &str) -> Vec<String> {
    let markdown = Regex::new(r"\]\(([^)\s]+)(?:\s+[^)]*)?\)").unwrap();
    let html = Regex::new(r#"(?:src|href)="([^"]+)""#).unwrap();
    let prose = prose(text);
    markdown.captures_iter(&prose).chain(html.captures_iter(&prose)).map(|c| c[1].to_string()).collect()
}

#[test]
fn every_relative_link_of_the_pages_leads_to_a_file_and_a_heading() {
    let mut checked = 0;
    let mut broken = Vec::new();
    for page in pages() {
        let text = read(&page);
        let shown = page.strip_prefix(root()).unwrap().display().to_string();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, fragment) = target.split_once('#').map_or((target.as_str(), None), |(p, f)| (p, Some(f)));
            let file = if path.is_empty() { page.clone() } else { page.parent().unwrap().join(path) };
            if !file.exists() {
                broken.push(format!("{shown}: {target}: no such file"));
                continue;
            }
            if let Some(fragment) = fragment.filter(|_| file.extension().is_some_and(|e| e == "md"))
                && !anchors(&read(&file)).contains(fragment)
            {
                broken.push(format!("{shown}: {target}: no heading #{fragment} there"));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    assert!(checked > 100, "only {checked} links found: is the link pattern still right?");
}

#[test]
fn headings_are_anchored_as_github_anchors_them() {
    let page = "# Title\n## Labels (`src/labels/layout.rs`, `qr.rs`)\n## 9. Migrating from the Python apps\n\
                ```\n# not a heading\n```\n## Booth settings' first values\n## Title\n## The [crate](x.md)\n";
    let expected = [
        "title",
        "labels-srclabelslayoutrs-qrrs",
        "9-migrating-from-the-python-apps",
        "booth-settings-first-values",
        "title-1",
        "the-crate",
    ];
    assert_eq!(anchors(page), expected.into_iter().map(String::from).collect());
}

#[test]
fn links_in_code_are_not_links() {
    let page =
        "[a](one.md) `[b](two.md)`\n```\n[c](three.md)\n```\n<img src=\"img/x.png\" alt=\"x\"> [d](https://e.org)\n";
    assert_eq!(link_targets(page), ["one.md", "https://e.org", "img/x.png"]);
}

/// Every environment variable the binary reads, with the flags that read it, from its
/// command-line definition.
pub(crate) fn variables_and_flags() -> BTreeMap<String, BTreeSet<String>> {
    fn walk(command: &clap::Command, out: &mut BTreeMap<String, BTreeSet<String>>) {
        for arg in command.get_arguments() {
            if let Some(env) = arg.get_env() {
                let flags = out.entry(env.to_string_lossy().into_owned()).or_default();
                flags.extend(arg.get_long().map(|long| format!("--{long}")));
            }
        }
        command.get_subcommands().for_each(|sub| walk(sub, out));
    }
    let mut out = BTreeMap::new();
    walk(&<conferenceli::config::Cli as clap::CommandFactory>::command(), &mut out);
    out
}

#[test]
fn every_variable_the_binary_reads_has_its_row_in_the_configuration_page() {
    let page = read(&root().join("docs/configuration.md"));
    let rows: Vec<&str> = page.lines().filter(|l| l.starts_with("| `")).collect();
    let known = variables_and_flags();
    assert!(known.len() > 80, "{known:?}");
    for (variable, flags) in &known {
        for flag in flags {
            assert!(
                rows.iter().any(|row| row.contains(&format!("`{variable}`")) && row.contains(&format!("`{flag}`"))),
                "docs/configuration.md has no row for {variable} with {flag}"
            );
        }
    }
    // And nothing is documented that the binary no longer reads.
    let documented = Regex::new(r"^\| `([A-Z][A-Z0-9_]+)` \|").unwrap();
    for row in rows {
        if let Some(name) = documented.captures(row) {
            assert!(
                known.contains_key(&name[1]),
                "docs/configuration.md documents {}, which the binary does not read",
                &name[1]
            );
        }
    }
}

#[test]
fn the_readme_fits_on_a_screen() {
    let lines = read(&root().join("README.md")).lines().count();
    assert!(lines <= 150, "README.md has {lines} lines: move the detail into a page of docs/ and link it");
}
