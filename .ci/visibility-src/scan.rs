//! Which `pub` items of `src/` no other target needs: the rule "`pub` is deliberate, everything
//! else is `pub(crate)`" as code. Used by `.ci/visibility` (`main.rs`, which rewrites what it finds) and by
//! the architecture test in `tests/it/architecture.rs` (which fails on what it finds).
//!
//! Name-based, deliberately simple: the other targets (tests/, benches/, examples/, src/main.rs,
//! build.rs) are cut into identifier tokens (comments and literals dropped), and a `pub` item of
//! the library stays `pub` when any of its names is among them. A kept item's public signature
//! (a function's parameters and return type, a field's type, an enum's variants, a trait's
//! methods, a re-export's source) names types that must stay `pub` too (rustc's
//! `private_interfaces` lint), so those names are added and the search runs to a fixed point.
//! An over-approximation: a common name used anywhere outside keeps every item of that name.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One identifier or punctuation character of Rust source, with where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub text: String,
    /// Byte offset in the source.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
}

/// Identifiers (`r#` stripped), single punctuation characters and plain string literals (quotes
/// included, escapes left as written) of `source`; comments, raw strings, byte strings, character
/// and number literals and lifetimes are dropped.
pub fn tokens(source: &str) -> Vec<Token> {
    let chars: Vec<(usize, char)> = source.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Skips a quoted literal whose opening quote is at `i`; returns the index after it.
    let skip_quoted = |mut i: usize, quote: char, line: &mut usize| {
        i += 1;
        while let Some(c) = at(i) {
            match c {
                '\\' => i += 1,
                '\n' => *line += 1,
                c if c == quote => return i + 1,
                _ => {}
            }
            i += 1;
        }
        i
    };
    while let Some(c) = at(i) {
        match c {
            '\n' => {
                line += 1;
                i += 1;
            }
            '/' if at(i + 1) == Some('/') => {
                while at(i).is_some_and(|c| c != '\n') {
                    i += 1;
                }
            }
            '/' if at(i + 1) == Some('*') => {
                let mut depth = 0;
                while let Some(c) = at(i) {
                    if c == '/' && at(i + 1) == Some('*') {
                        depth += 1;
                        i += 2;
                    } else if c == '*' && at(i + 1) == Some('/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        line += usize::from(c == '\n');
                        i += 1;
                    }
                }
            }
            '"' => {
                let (start, start_line) = (i, line);
                i = skip_quoted(i, '"', &mut line);
                let text = chars[start..i].iter().map(|&(_, c)| c).collect();
                out.push(Token { text, offset: chars[start].0, line: start_line });
            }
            '\'' => {
                // A character literal ('x', '\n', '\u{1F600}') or a lifetime or label ('a).
                if at(i + 1) == Some('\\') || at(i + 2) == Some('\'') {
                    i = skip_quoted(i, '\'', &mut line);
                } else {
                    i += 1;
                    while at(i).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        i += 1;
                    }
                }
            }
            c if c.is_ascii_digit() => {
                while at(i).is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                    // `0..n` is a range, not a number.
                    if at(i) == Some('.') && !at(i + 1).is_some_and(|c| c.is_ascii_digit()) {
                        break;
                    }
                    i += 1;
                }
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while at(i).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().map(|&(_, c)| c).collect();
                match (word.as_str(), at(i)) {
                    ("r", Some('#')) if at(i + 1).is_some_and(|c| c.is_alphabetic() || c == '_') => {
                        let ident_start = i + 1;
                        i += 1;
                        while at(i).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                            i += 1;
                        }
                        let text = chars[ident_start..i].iter().map(|&(_, c)| c).collect();
                        out.push(Token { text, offset: chars[start].0, line });
                    }
                    ("r" | "br" | "cr", Some('#' | '"')) => {
                        let mut hashes = 0;
                        while at(i) == Some('#') {
                            hashes += 1;
                            i += 1;
                        }
                        i += 1; // the opening quote
                        loop {
                            match at(i) {
                                None => break,
                                Some('"') if (1..=hashes).all(|h| at(i + h) == Some('#')) => {
                                    i += 1 + hashes;
                                    break;
                                }
                                Some(c) => {
                                    line += usize::from(c == '\n');
                                    i += 1;
                                }
                            }
                        }
                    }
                    ("b" | "c", Some('"')) => i = skip_quoted(i, '"', &mut line),
                    ("b", Some('\'')) => i = skip_quoted(i, '\'', &mut line),
                    _ => out.push(Token { text: word, offset: chars[start].0, line }),
                }
            }
            c if c.is_whitespace() => i += 1,
            c => {
                out.push(Token { text: c.to_string(), offset: chars[i].0, line });
                i += 1;
            }
        }
    }
    out
}

/// A `pub` item of the library.
#[derive(Debug, Clone)]
pub struct PubItem {
    pub file: PathBuf,
    pub line: usize,
    /// Byte offset of its `pub` keyword.
    pub offset: usize,
    /// `fn`, `struct`, `field`, `use`, …
    pub kind: &'static str,
    /// What other targets would call it (several for `pub use a::{B, C}`).
    pub names: Vec<String>,
    /// The names its public signature uses, which must stay `pub` while it does.
    pub needs: Vec<String>,
}

fn is_ident(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// The identifiers from `from` up to (not including) the first of `stops` met outside brackets.
fn until(tokens: &[Token], from: usize, stops: &[&str]) -> Vec<String> {
    until_stop(tokens, from, stops).0
}

/// [`until`], and the index where it stopped.
fn until_stop(tokens: &[Token], from: usize, stops: &[&str]) -> (Vec<String>, usize) {
    let mut depth = 0i32;
    let mut out = Vec::new();
    for (k, token) in tokens.iter().enumerate().skip(from) {
        let text = token.text.as_str();
        if depth == 0 && stops.contains(&text) {
            return (out, k);
        }
        match text {
            "(" | "[" | "<" => depth += 1,
            // `->` is no closing angle bracket.
            ">" if k > 0 && tokens[k - 1].text == "-" => {}
            ")" | "]" | ">" => depth -= 1,
            "{" => depth += 1,
            "}" => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return (out, k);
        }
        if is_ident(text) {
            out.push(text.to_string());
        }
    }
    (out, tokens.len())
}

/// The tokens of the brace block opening at or after `from`; with `top_only`, not those of
/// blocks nested in it (a trait's default method bodies).
fn block(tokens: &[Token], from: usize, top_only: bool) -> Vec<String> {
    let Some(open) = tokens[from..].iter().position(|t| t.text == "{" || t.text == ";").map(|p| p + from) else {
        return Vec::new();
    };
    let mut depth = 0;
    let mut out = Vec::new();
    for token in &tokens[open..] {
        match token.text.as_str() {
            "{" => depth += 1,
            "}" => depth -= 1,
            ";" if depth == 0 => break,
            text if is_ident(text) && (!top_only || depth == 1) => out.push(text.to_string()),
            _ => {}
        }
        if depth == 0 {
            break;
        }
    }
    out
}

/// The names a `pub use` tree starting at `from` exports and the names they re-export.
fn use_tree(tokens: &[Token], from: usize) -> (Vec<String>, Vec<String>) {
    let (mut names, mut needs) = (Vec::new(), Vec::new());
    let mut k = from;
    while let Some(token) = tokens.get(k) {
        let text = token.text.as_str();
        if text == ";" {
            break;
        }
        let next = tokens.get(k + 1).map(|t| t.text.as_str());
        if text == "*" {
            // A glob re-exports whatever it finds: it stays `pub` whatever the name.
            names.push("*".to_string());
        } else if is_ident(text) && text != "as" && tokens.get(k.wrapping_sub(1)).is_none_or(|t| t.text != "as") {
            match next {
                Some("as") => {
                    needs.push(text.to_string());
                    if let Some(alias) = tokens.get(k + 2) {
                        names.push(alias.text.clone());
                    }
                }
                Some("," | "}" | ";") => {
                    needs.push(text.to_string());
                    names.push(text.to_string());
                }
                _ => {}
            }
        }
        k += 1;
    }
    (names, needs)
}

/// The index of the innermost bracket (`{`, `(`, `[`) still open at token `at`.
fn opener(tokens: &[Token], at: usize) -> Option<usize> {
    let mut depth = 0;
    for k in (0..at).rev() {
        match tokens[k].text.as_str() {
            "}" | ")" | "]" => depth += 1,
            "{" | "(" | "[" if depth == 0 => return Some(k),
            "{" | "(" | "[" => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The struct whose body opens at the `{` at `open` (`pub struct Name<T> where … {`).
fn struct_before(tokens: &[Token], open: usize) -> Option<String> {
    let start = (0..open).rev().take_while(|&k| !matches!(tokens[k].text.as_str(), ";" | "}" | "{")).last()?;
    let keyword = (start..open).find(|&k| tokens[k].text == "struct" || tokens[k].text == "union")?;
    tokens.get(keyword + 1).map(|t| t.text.clone())
}

/// `Name{..}` for each struct built with a struct update (`Name { a: 1, ..base }`) in `tokens`:
/// the update needs every field of it visible, named or not.
fn struct_updates(tokens: &[Token]) -> Vec<String> {
    let mut out = Vec::new();
    for k in 1..tokens.len().saturating_sub(2) {
        let (before, next) = (tokens[k - 1].text.as_str(), tokens[k + 2].text.as_str());
        if tokens[k].text == "."
            && tokens[k + 1].text == "."
            && matches!(before, "," | "{")
            && next != "}"
            && let Some(open) = opener(tokens, k).filter(|&o| tokens[o].text == "{" && o > 0)
        {
            out.push(format!("{}{{..}}", tokens[open - 1].text));
        }
    }
    out
}

/// The identifiers named by string literals in the attributes just before token `at`:
/// `#[kube(status = "LeadStatus")]` puts `LeadStatus` in the public struct the derive generates.
fn attribute_names(tokens: &[Token], mut at: usize) -> Vec<String> {
    let mut out = Vec::new();
    while at > 0 && tokens[at - 1].text == "]" {
        let mut depth = 0;
        let mut k = at - 1;
        loop {
            match tokens[k].text.as_str() {
                "]" => depth += 1,
                "[" => depth -= 1,
                text => {
                    let inner = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or_default();
                    if is_ident(inner) && inner.chars().all(|c| c.is_alphanumeric() || c == '_') {
                        out.push(inner.to_string());
                    }
                }
            }
            if depth == 0 || k == 0 {
                break;
            }
            k -= 1;
        }
        if k == 0 || tokens[k - 1].text != "#" {
            break;
        }
        at = k - 1;
    }
    out
}

/// Every `pub` item (not `pub(crate)`, `pub(super)`, …) of one source file. `pub mod` lines of
/// `src/lib.rs` are the crate's table of contents and are left out.
pub fn pub_items(file: &Path, source: &str) -> Vec<PubItem> {
    let tokens = tokens(source);
    let is_lib = file.ends_with("src/lib.rs");
    let mut items = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if token.text != "pub" || tokens.get(i + 1).is_none_or(|t| t.text == "(") {
            continue;
        }
        let text = |k: usize| tokens.get(k).map_or("", |t| t.text.as_str());
        let mut j = i + 1;
        while matches!(text(j), "async" | "unsafe" | "extern" | "default")
            || (text(j) == "const" && matches!(text(j + 1), "fn" | "unsafe" | "async" | "extern"))
        {
            j += 1;
        }
        let (kind, names, needs) = match text(j) {
            "fn" => ("fn", vec![text(j + 1).to_string()], until(&tokens, j + 2, &["{", ";"])),
            "mod" if is_lib => continue,
            "mod" => ("mod", vec![text(j + 1).to_string()], Vec::new()),
            "struct" | "union" => {
                // Named fields are items of their own; a tuple struct's fields are its signature.
                let (mut needs, stop) = until_stop(&tokens, j + 2, &["{", ";", "("]);
                if text(stop) == "(" {
                    needs.extend(until(&tokens, stop + 1, &[";"]));
                }
                ("struct", vec![text(j + 1).to_string()], needs)
            }
            "enum" => ("enum", vec![text(j + 1).to_string()], block(&tokens, j + 2, false)),
            "trait" => ("trait", vec![text(j + 1).to_string()], block(&tokens, j + 2, true)),
            "type" => ("type", vec![text(j + 1).to_string()], until(&tokens, j + 2, &[";"])),
            keyword @ ("const" | "static") => {
                let kind = if keyword == "const" { "const" } else { "static" };
                let name = if text(j + 1) == "mut" { j + 2 } else { j + 1 };
                (kind, vec![text(name).to_string()], until(&tokens, name + 1, &["="]))
            }
            "use" => {
                let (names, needs) = use_tree(&tokens, j + 1);
                ("use", names, needs)
            }
            name if is_ident(name) && text(j + 1) == ":" && text(j + 2) != ":" => {
                // Also named `Owner{..}`: a struct update (`Owner { a, ..base }`) needs every field.
                let mut names = vec![name.to_string()];
                names.extend(
                    opener(&tokens, i).and_then(|open| struct_before(&tokens, open)).map(|s| format!("{s}{{..}}")),
                );
                ("field", names, until(&tokens, j + 2, &[",", "}"]))
            }
            // A tuple struct's field (`pub struct Id(pub u64)`): part of its struct.
            _ => continue,
        };
        let needs = needs.into_iter().chain(attribute_names(&tokens, i)).collect();
        items.push(PubItem { file: file.to_path_buf(), line: token.line, offset: token.offset, kind, names, needs });
    }
    items
}

/// The `.rs` files under `path` (or `path` itself), sorted.
pub fn rust_files(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for entry in entries {
            out.extend(rust_files(&entry));
        }
    } else if path.is_file() && path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
    out
}

/// Every identifier the other targets of the crate at `root` use (its tests, benchmarks,
/// examples, binary and build script), and `Name{..}` for each struct they build by update.
pub fn outside_names(root: &Path) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for part in ["tests", "benches", "examples", "src/main.rs", "build.rs"] {
        for file in rust_files(&root.join(part)) {
            let source = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let tokens = tokens(&source);
            names.extend(struct_updates(&tokens));
            names.extend(tokens.into_iter().map(|t| t.text).filter(|t| is_ident(t)));
        }
    }
    names
}

/// The `pub` items of `root/src` under one of `paths` but none of `skip` (relative to `root`)
/// that nothing outside the library needs. The other items keep their `pub` and what they need.
pub fn unneeded(root: &Path, paths: &[PathBuf], skip: &[PathBuf]) -> Vec<PubItem> {
    let mut items = Vec::new();
    for file in rust_files(&root.join("src")) {
        if file.ends_with("src/main.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let relative = file.strip_prefix(root).expect("under root").to_path_buf();
        items.extend(pub_items(&relative, &source));
    }
    let swept = |item: &PubItem| {
        paths.iter().any(|p| item.file.starts_with(p)) && !skip.iter().any(|p| item.file.starts_with(p))
    };
    let mut needed = outside_names(root);
    needed.insert("*".to_string());
    let mut kept = vec![false; items.len()];
    loop {
        let mut changed = false;
        for (k, item) in items.iter().enumerate() {
            if !kept[k] && (!swept(item) || item.names.iter().any(|n| needed.contains(n))) {
                kept[k] = true;
                changed = true;
                needed.extend(item.needs.iter().cloned());
            }
        }
        if !changed {
            break;
        }
    }
    items.into_iter().zip(kept).filter(|(_, kept)| !kept).map(|(item, _)| item).collect()
}

/// Rewrites the `pub` of each item to `pub(crate)`, file by file; returns how many it rewrote.
pub fn make_crate_private(root: &Path, items: &[PubItem]) -> std::io::Result<usize> {
    let mut files: Vec<&PathBuf> = items.iter().map(|i| &i.file).collect();
    files.dedup();
    for file in files {
        let path = root.join(file);
        let mut source = std::fs::read_to_string(&path)?;
        let mut offsets: Vec<usize> = items.iter().filter(|i| &i.file == file).map(|i| i.offset).collect();
        offsets.sort_unstable_by(|a, b| b.cmp(a));
        offsets.dedup();
        for offset in offsets {
            source.replace_range(offset..offset + "pub".len(), "pub(crate)");
        }
        std::fs::write(&path, source)?;
    }
    Ok(items.len())
}
